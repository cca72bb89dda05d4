-- Drain the inboxes of several roles at once. Each role's pending entries
-- (up to limit) move to its in-flight list, so an agent that dies before it
-- replies gets them again (requeue.lua); ids seen for the first time are
-- appended to its view. Entries "r<id>" were delivered before and are not
-- added to the view twice. A whole inbox moves with one RENAMENX.
-- KEYS[1] = prefix; ARGV = limit, role_1 .. role_n.
-- Returns n + 1 lists: per role a flat list of flag ("n" new, "r"
-- redelivered) and id; then a flat list of id and body for each distinct id
-- (a task sent to all is one body, not one per role).
local p = KEYS[1]
local limit = tonumber(ARGV[1])

-- RPUSH a list of values in chunks (Lua's unpack has a stack limit).
local function push_all(key, values)
	for s = 1, #values, 1000 do
		redis.call('RPUSH', key, unpack(values, s, math.min(s + 999, #values)))
	end
end

local out, distinct, seen = {}, {}, {}
for a = 2, #ARGV do
	local role = ARGV[a]
	local inbox = p .. 'inbox:' .. role
	local items = redis.call('LRANGE', inbox, 0, limit - 1)
	local got = {}
	if #items > 0 then
		local fl = p .. 'inflight:' .. role
		if #items == limit or redis.call('RENAMENX', inbox, fl) == 0 then
			redis.call('LTRIM', inbox, #items, -1)
			push_all(fl, items)
		end
		local view = {}
		for _, e in ipairs(items) do
			local flag, id = 'n', e
			if string.byte(e, 1) == 114 then -- 'r'
				flag, id = 'r', string.sub(e, 2)
			else
				view[#view + 1] = id
			end
			got[#got + 1] = flag
			got[#got + 1] = id
			if not seen[id] then
				seen[id] = true
				distinct[#distinct + 1] = id
			end
		end
		push_all(p .. 'view:' .. role, view)
	end
	out[#out + 1] = got
end
-- All the bodies in a few HMGETs, not one lookup per message.
local bodies = {}
for s = 1, #distinct, 1000 do
	local e = math.min(s + 999, #distinct)
	local got = redis.call('HMGET', p .. 'msg', unpack(distinct, s, e))
	for k = s, e do
		if got[k - s + 1] then
			bodies[#bodies + 1] = distinct[k]
			bodies[#bodies + 1] = got[k - s + 1]
		end
	end
end
out[#out + 1] = bodies
return out
