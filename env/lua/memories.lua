-- The last `limit` memory entries of several roles at once (0: all),
-- oldest first, for kinds that build prompts from memory.
-- KEYS[1] = prefix; ARGV = limit, role_1 .. role_n.
-- Returns, per role, a list of message bodies.
local p = KEYS[1]
local limit = tonumber(ARGV[1])
local out = {}
for a = 2, #ARGV do
	local key = p .. 'mem:' .. ARGV[a]
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
