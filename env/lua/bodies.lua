-- The message bodies for the last `limit` ids of an id list (the history,
-- a view, a memory, the requirements), oldest first; limit 0 means all.
-- KEYS[1] = prefix, KEYS[2] = the list key; ARGV[1] = limit.
local p = KEYS[1]
local limit = tonumber(ARGV[1])
local ids
if limit > 0 then
	ids = redis.call('LRANGE', KEYS[2], -limit, -1)
else
	ids = redis.call('LRANGE', KEYS[2], 0, -1)
end
local out = {}
for s = 1, #ids, 1000 do
	local bodies = redis.call('HMGET', p .. 'msg',
	    unpack(ids, s, math.min(s + 999, #ids)))
	for _, body in ipairs(bodies) do
		if body then
			out[#out + 1] = body
		end
	end
end
return out
