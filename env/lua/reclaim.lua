-- Give back what every gone owner left in flight in a session: an
-- in-flight list whose lease has expired, or whose owner's key owner:<id>
-- is gone (the process died or was killed), returns to the head of its
-- inbox, marked redelivered. A session resumed after a crash gets its
-- messages back this way; drain.lua does the same for the roles it drains.
-- KEYS[1] = prefix; ARGV[1] = the caller's owner id: the caller has nothing
-- in flight now (a step is starting), so its own leases are stale too (a
-- step that failed when Redis went away could not give them back).
-- Returns how many messages went back.
local p = KEYS[1]
local me = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local leases = redis.call('HGETALL', p .. 'lease')
local moved = 0
-- Whether each owner is alive, asked once per owner, not once per lease
-- (a step on an agent server holds one lease per agent it drained).
local alive = {}
local function owner_alive(who)
	if alive[who] == nil then
		alive[who] = redis.call('EXISTS', p .. 'owner:' .. who) == 1
	end
	return alive[who]
end
for i = 1, #leases, 2 do
	local role, lease = leases[i], leases[i + 1]
	local who, expires, ids = string.match(lease, '^(%S+) (%d+) ?(%S*)$')
	local live = who and who ~= me and tonumber(expires) > now and
	    owner_alive(who)
	if not live then
		local fl = p .. 'inflight:' .. role
		local items = redis.call('LRANGE', fl, 0, -1)
		-- A light role's entries are in its lease (drain.lua).
		for e in string.gmatch(ids or '', '[^,]+') do
			items[#items + 1] = e
		end
		for k = #items, 1, -1 do
			local e = items[k]
			if string.byte(e, 1) ~= 114 then e = 'r' .. e end
			redis.call('LPUSH', p .. 'inbox:' .. role, e)
		end
		moved = moved + #items
		redis.call('DEL', fl)
		redis.call('HDEL', p .. 'lease', role)
	end
end
return moved
