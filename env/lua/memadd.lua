-- Put messages into a role's memory (loaded from a file): each gets a new
-- id and its body is kept like any message, but it is not delivered and
-- not in the history.
-- KEYS[1] = prefix; ARGV = memory_max, role, body_1 .. body_n (JSON
-- without an id).
local p = KEYS[1]
local memmax = tonumber(ARGV[1])
local key = p .. 'mem:' .. ARGV[2]
local n = #ARGV - 2
if n == 0 then return 0 end
local last = redis.call('INCRBY', p .. 'seq', n)
for k = 1, n do
	local id = last - n + k
	redis.call('HSET', p .. 'msg', id, '{"id":' .. id .. ',' .. string.sub(ARGV[k + 2], 2))
	redis.call('RPUSH', key, id)
end
redis.call('LTRIM', key, -memmax, -1)
return n
