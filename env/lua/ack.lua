-- Acknowledge what roles drained, without a reply (a skipped human, a
-- watcher): their in-flight ids move to their memory.
-- KEYS[1] = prefix; ARGV = memory_max, role_1 .. role_n.
local p = KEYS[1]
local memmax = tonumber(ARGV[1])
for a = 2, #ARGV do
	local role = ARGV[a]
	local fl = p .. 'inflight:' .. role
	local mem = p .. 'mem:' .. role
	for _, e in ipairs(redis.call('LRANGE', fl, 0, -1)) do
		redis.call('RPUSH', mem, string.sub(e, 2))
	end
	redis.call('LTRIM', mem, -memmax, -1)
	redis.call('DEL', fl)
end
return #ARGV - 1
