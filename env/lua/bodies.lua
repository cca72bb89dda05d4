-- The message bodies behind id lists (the history, a view, a memory, the
-- requirements): for each list, the last `limit` ids (0: all), oldest
-- first.
-- KEYS[1] = prefix; ARGV = limit, list key suffix 1 .. n ("history",
-- "mem:alice" ...).
-- Returns, per list, a list of bodies.
local p = KEYS[1]
local limit = tonumber(ARGV[1])
local out = {}
for a = 2, #ARGV do
	local key = p .. ARGV[a]
	local ids
	if limit > 0 then
		ids = redis.call('LRANGE', key, -limit, -1)
	else
		ids = redis.call('LRANGE', key, 0, -1)
	end
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
	out[#out + 1] = got
end
return out
