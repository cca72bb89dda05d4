-- Empty inboxes, in-flight lists, views, memories, history and
-- requirements; keep the roles unless ARGV[1] is "0". The id counter is
-- kept, so ids stay unique within the session.
-- KEYS[1] = prefix; ARGV[1] = keep_roles ("1" or "0").
local p = KEYS[1]
for _, r in ipairs(redis.call('LRANGE', p .. 'roles', 0, -1)) do
	redis.call('DEL', p .. 'inbox:' .. r, p .. 'inflight:' .. r,
	    p .. 'view:' .. r, p .. 'mem:' .. r)
end
redis.call('DEL', p .. 'history', p .. 'msg', p .. 'req', p .. 'lease')
if ARGV[1] == '0' then
	redis.call('DEL', p .. 'roles', p .. 'roleset')
end
return 1
