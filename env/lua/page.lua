-- A page of the history: the bodies of the first `limit` messages whose id
-- is over `after`, oldest first. History ids only grow, so the start is
-- found by binary search (LINDEX, O(log n) steps), not by reading the list.
-- KEYS[1] = prefix; ARGV = after, limit.
-- Returns one list of bodies (as bodies.lua does for one list).
local p = KEYS[1]
local after = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local key = p .. 'history'
local lo, hi = 0, redis.call('LLEN', key)
while lo < hi do
	local mid = math.floor((lo + hi) / 2)
	if tonumber(redis.call('LINDEX', key, mid)) > after then
		hi = mid
	else
		lo = mid + 1
	end
end
local ids = redis.call('LRANGE', key, lo, lo + limit - 1)
local got = {}
for s = 1, #ids, 1000 do
	local bodies = redis.call('HMGET', p .. 'msg',
	    unpack(ids, s, math.min(s + 999, #ids)))
	for _, body in ipairs(bodies) do
		if body then
			got[#got + 1] = body
		end
	end
end
return { got }
