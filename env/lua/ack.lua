-- Acknowledge what roles drained, without a reply (a skipped human, a
-- watcher): their in-flight ids move to their memory.
-- KEYS[1] = prefix; ARGV = memory_max, role_1 .. role_n.
local p = KEYS[1]
local memmax = tonumber(ARGV[1])
for a = 2, #ARGV do
	local role = ARGV[a]
	local fl = p .. 'inflight:' .. role
	local mem = p .. 'mem:' .. role
	local items = redis.call('LRANGE', fl, 0, -1)
	-- A light role's entries are in its lease (drain.lua).
	local lease = redis.call('HGET', p .. 'lease', role)
	if lease then
		for e in string.gmatch(string.match(lease, '^%S+ %d+ ?(%S*)$') or '',
		    '[^,]+') do
			items[#items + 1] = e
		end
	end
	for s = 1, #items, 1000 do
		local ids = {}
		for k = s, math.min(s + 999, #items) do
			local e = items[k]
			if string.sub(e, 1, 1) == 'r' then e = string.sub(e, 2) end
			ids[#ids + 1] = e
		end
		if redis.call('RPUSH', mem, unpack(ids)) > memmax then
			redis.call('LTRIM', mem, -memmax, -1)
		end
	end
	if #items > 0 or lease then
		redis.call('DEL', fl)
		redis.call('HDEL', p .. 'lease', role)
	end
end
return #ARGV - 1
