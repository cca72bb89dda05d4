-- The message bodies for the last `limit` ids of an id list (a view, the
-- memory, the requirements), oldest first; limit 0 means all.
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
for _, id in ipairs(ids) do
	local e = redis.call('XRANGE', p .. 'history', '0-' .. id, '0-' .. id)
	if #e > 0 then
		out[#out + 1] = e[1][2][2]
	end
end
return out
