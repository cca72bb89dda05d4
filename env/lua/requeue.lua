-- Give roles back what they drained but did not answer (the agent failed,
-- timed out or died): in-flight ids return to the head of the inbox, in
-- their order, marked as redelivered. Returns how many were returned.
-- KEYS[1] = prefix; ARGV = roles.
local p = KEYS[1]
local moved = 0
for a = 1, #ARGV do
	local fl = p .. 'inflight:' .. ARGV[a]
	local items = redis.call('LRANGE', fl, 0, -1)
	-- A light role's entries are in its lease (drain.lua).
	local lease = redis.call('HGET', p .. 'lease', ARGV[a])
	if lease then
		for e in string.gmatch(string.match(lease, '^%S+ %d+ ?(%S*)$') or '',
		    '[^,]+') do
			items[#items + 1] = e
		end
	end
	for k = #items, 1, -1 do
		local e = items[k]
		if string.sub(e, 1, 1) ~= 'r' then e = 'r' .. e end
		redis.call('LPUSH', p .. 'inbox:' .. ARGV[a], e)
	end
	moved = moved + #items
	redis.call('DEL', fl)
	redis.call('HDEL', p .. 'lease', ARGV[a])
end
return moved
