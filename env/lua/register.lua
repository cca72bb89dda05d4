-- Register roles in order; a role already registered is left as it is.
-- KEYS[1] = session prefix ("agora:{s}:"); ARGV = roles.
-- Returns the number of roles added.
local p = KEYS[1]
local added = 0
for i = 1, #ARGV do
	if redis.call('SADD', p .. 'roleset', ARGV[i]) == 1 then
		redis.call('RPUSH', p .. 'roles', ARGV[i])
		added = added + 1
	end
end
return added
