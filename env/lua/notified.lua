-- Roles with pending inbox messages, in registration order.
-- KEYS[1] = prefix.
local p = KEYS[1]
local out = {}
local inbox = p .. 'inbox:'
for _, r in ipairs(redis.call('LRANGE', p .. 'roles', 0, -1)) do
	if redis.call('EXISTS', inbox .. r) == 1 then
		out[#out + 1] = r
	end
end
return out
