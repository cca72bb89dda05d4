-- Drain the inboxes of several roles at once. Each role's pending ids (up
-- to limit) move to its in-flight list, so an agent that dies before it
-- replies gets them again (requeue.lua); ids seen for the first time are
-- appended to its view. Entries "r<id>" were delivered before and are not
-- added to the view twice.
-- KEYS[1] = prefix; ARGV = limit, role_1 .. role_n.
-- Returns, per role, a flat list: flag ("n" new, "r" redelivered), body, ...
local p = KEYS[1]
local limit = tonumber(ARGV[1])
local out = {}
for a = 2, #ARGV do
	local role = ARGV[a]
	local inbox = p .. 'inbox:' .. role
	local items = redis.call('LRANGE', inbox, 0, limit - 1)
	local got = {}
	if #items > 0 then
		redis.call('LTRIM', inbox, #items, -1)
		for _, e in ipairs(items) do
			local flag, id = 'n', e
			if string.sub(e, 1, 1) == 'r' then
				flag, id = 'r', string.sub(e, 2)
			end
			redis.call('RPUSH', p .. 'inflight:' .. role, 'r' .. id)
			if flag == 'n' then
				redis.call('RPUSH', p .. 'view:' .. role, id)
			end
			local entry = redis.call('XRANGE', p .. 'history', '0-' .. id, '0-' .. id)
			if #entry > 0 then
				got[#got + 1] = flag
				got[#got + 1] = entry[1][2][2]
			end
		end
	end
	out[#out + 1] = got
end
return out
