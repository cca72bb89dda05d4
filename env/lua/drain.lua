-- Drain the inboxes of several roles at once. Each role's pending entries
-- (up to limit, one page) move to its in-flight list, so an agent that dies
-- before it replies gets them again (requeue.lua); ids seen for the first
-- time are appended to its view. Entries "r<id>" were delivered before and
-- are not added to the view twice. A whole inbox moves with one RENAMENX.
--
-- What is in flight is leased, not owned: the lease hash holds, per role,
-- "<owner> <expires ms>" (Redis's own clock), and the owner keeps a key
-- owner:<id> alive while it works. An in-flight list whose lease is
-- someone else's and has expired, or whose owner's key is gone (the process
-- died), goes back to the head of the inbox first, marked redelivered, so
-- this drain gets it. The drainer's own earlier pages stay in flight (a
-- turn reads a long inbox page by page).
-- One call moves at most budget entries in all (at least one role's
-- page), so it never holds Redis for long; the caller drains the roles it
-- did not reach in the next call.
-- A light role (its kind is memoryless: it keeps nothing of a turn) gets
-- no view entries, and its page is taken with one LPOP: its in-flight
-- entries are kept in its lease, "<owner> <expires ms> <e1>,<e2>...", not
-- in a list of their own (one command a role, not an LRANGE and a
-- RENAMENX). They go back the same way.
-- Leases are read with one HMGET and written with one HSET per thousand
-- roles, not one command per role.
-- KEYS[1] = prefix; ARGV = limit, owner, lease_ms, owner_ttl_ms, budget,
--   light, role_1 .. role_n; light has one character per role ("1":
--   light), or is empty when no role is.
-- Returns k + 1 lists for the first k roles it reached: per role a flat
-- list of flag ("n" new, "r" redelivered) and id; then a flat list of id
-- and body for each distinct id (a task sent to all is one body, not one
-- per role).
local p = KEYS[1]
local limit = tonumber(ARGV[1])
local owner = ARGV[2]
local lease_ms = tonumber(ARGV[3])
local owner_ttl = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local light = ARGV[6]
local first = 7 -- ARGV index of the first role
local moved = 0
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local leases = p .. 'lease'
local mylease = owner .. ' ' .. (now + lease_ms)

-- RPUSH a list of values in chunks (Lua's unpack has a stack limit).
local function push_all(key, values)
	for s = 1, #values, 1000 do
		redis.call('RPUSH', key, unpack(values, s, math.min(s + 999, #values)))
	end
end

-- The leases of the roles from ARGV[a] on, a thousand at a time.
local lease_at, fetched = {}, first - 1
local function lease_of(a)
	if a > fetched then
		local e = math.min(a + 999, #ARGV)
		local got = redis.call('HMGET', leases, unpack(ARGV, a, e))
		for k = a, e do
			lease_at[k] = got[k - a + 1]
		end
		fetched = e
	end
	return lease_at[a]
end

-- Whether each owner is alive, asked once per owner.
local alive = {}
local function owner_alive(who)
	if alive[who] == nil then
		alive[who] = redis.call('EXISTS', p .. 'owner:' .. who) == 1
	end
	return alive[who]
end

-- An in-flight list (or a light lease's entries) left by an owner that is
-- gone or out of time goes back.
local mine = {} -- roles this call leased already (a role named twice)
local held = {} -- a light role's entries in flight, as its lease has them
local function reclaim(role, fl, lease)
	if not lease or mine[role] then
		return
	end
	local who, expires, ids = string.match(lease, '^(%S+) (%d+) ?(%S*)$')
	if who == owner then
		held[role] = ids
		return
	end
	if who and tonumber(expires) > now and owner_alive(who) then
		held[role] = ids -- another live owner is working on it
		return
	end
	local items = redis.call('LRANGE', fl, 0, -1)
	for e in string.gmatch(ids or '', '[^,]+') do
		items[#items + 1] = e
	end
	for k = #items, 1, -1 do
		local e = items[k]
		if string.byte(e, 1) ~= 114 then e = 'r' .. e end
		redis.call('LPUSH', p .. 'inbox:' .. role, e)
	end
	redis.call('DEL', fl)
	redis.call('HDEL', leases, role)
end

redis.call('SET', p .. 'owner:' .. owner, '1', 'PX', owner_ttl)
local out, distinct, seen, leased = {}, {}, {}, {}
for a = first, #ARGV do
	if moved >= budget then
		break
	end
	local role = ARGV[a]
	local inbox = p .. 'inbox:' .. role
	local fl = p .. 'inflight:' .. role
	local heavy = string.byte(light, a - first + 1) ~= 49 -- not '1'
	reclaim(role, fl, lease_of(a))
	local items
	if heavy then
		items = redis.call('LRANGE', inbox, 0, limit - 1)
	else
		items = redis.call('LPOP', inbox, limit) or {}
	end
	local got = {}
	moved = moved + #items + 1
	if #items > 0 then
		local lease = mylease
		if heavy then
			if #items == limit or
			    redis.call('RENAMENX', inbox, fl) == 0 then
				redis.call('LTRIM', inbox, #items, -1)
				push_all(fl, items)
			end
		else
			-- Its earlier pages (this turn's) stay in the lease.
			local ids = table.concat(items, ',')
			if held[role] and held[role] ~= '' then
				ids = held[role] .. ',' .. ids
			end
			held[role] = ids
			lease = mylease .. ' ' .. ids
		end
		mine[role] = true
		leased[#leased + 1] = role
		leased[#leased + 1] = lease
		local view = {}
		for _, e in ipairs(items) do
			local flag, id = 'n', e
			if string.byte(e, 1) == 114 then -- 'r'
				flag, id = 'r', string.sub(e, 2)
			elseif heavy then
				view[#view + 1] = id
			end
			got[#got + 1] = flag
			got[#got + 1] = id
			if not seen[id] then
				seen[id] = true
				distinct[#distinct + 1] = id
			end
		end
		push_all(p .. 'view:' .. role, view)
	end
	out[#out + 1] = got
end
for s = 1, #leased, 2000 do
	redis.call('HSET', leases, unpack(leased, s, math.min(s + 1999, #leased)))
end
-- All the bodies in a few HMGETs, not one lookup per message.
local bodies = {}
for s = 1, #distinct, 1000 do
	local e = math.min(s + 999, #distinct)
	local got = redis.call('HMGET', p .. 'msg', unpack(distinct, s, e))
	for k = s, e do
		if got[k - s + 1] then
			bodies[#bodies + 1] = distinct[k]
			bodies[#bodies + 1] = got[k - s + 1]
		end
	end
end
out[#out + 1] = bodies
return out
