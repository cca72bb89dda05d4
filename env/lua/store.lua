-- Store a batch of messages, all or nothing: every sender and recipient of
-- every message is checked before anything is written. For each message:
-- a new id from the session counter, the body (JSON, to which the id is
-- added) kept in the msg hash under the id, the id appended to the history,
-- to the requirements if
-- the sender is user_requirement, to each recipient's inbox ("all" = every
-- role but the sender), to the sender's view and memory, and an event.
-- Flags per message: 1 (ack) first moves the sender's in-flight messages
-- (what it drained for this reply) to its memory; 2 (light: the sender's
-- kind is memoryless) puts nothing in its view or memory, and its ack only
-- drops the in-flight list and the lease.
-- KEYS[1] = prefix; ARGV = memory_max, mode, n, then per message:
--   from, flags, nto, to_1 .. to_nto, body
-- Mode "publish" stores as "store" does and always publishes (a Redis
-- Cluster: PUBSUB counts only this node's subscribers, PUBLISH reaches
-- every node).
-- Returns the ids.
-- Mode "check" only checks roles, for a batch the caller stores in several
-- calls (so that none holds Redis for long), checked whole first: ARGV =
-- memory_max, "check", the number of senders, the senders, then the
-- recipients (a name may come more than once); returns {}.
local p = KEYS[1]
local memmax = tonumber(ARGV[1])
local mode = ARGV[2]
local n = tonumber(ARGV[3])
local i = 4
-- Role checks: every distinct name of the batch asked with SMISMEMBER, a
-- thousand at a time, then the messages checked in order.
local known, ask = { user_requirement = true }, {}
local function want(r)
	if known[r] == nil then
		known[r] = false
		ask[#ask + 1] = r
	end
end
local function ask_all()
	for s = 1, #ask, 1000 do
		local e = math.min(s + 999, #ask)
		local got = redis.call('SMISMEMBER', p .. 'roleset', unpack(ask, s, e))
		for k = s, e do
			known[ask[k]] = got[k - s + 1] == 1
		end
	end
	ask = {}
end
local function unknown_sender(r)
	return redis.error_reply('AGORA_ENOTFOUND unknown sender role ' .. r)
end
local function bad_recipient(r)
	return r ~= 'all' and (r == 'user_requirement' or not known[r])
end
local function unknown_recipient(r)
	return redis.error_reply('AGORA_ENOTFOUND unknown recipient role ' .. r)
end
if mode == 'check' then
	for a = 4, #ARGV do
		want(ARGV[a])
	end
	ask_all()
	for a = 4, 3 + n do
		if not known[ARGV[a]] then
			return unknown_sender(ARGV[a])
		end
	end
	for a = 4 + n, #ARGV do
		if bad_recipient(ARGV[a]) then
			return unknown_recipient(ARGV[a])
		end
	end
	return {}
end
-- The batch, one array per field (a table per message costs more): the
-- sender, its flags, where its recipients start in ARGV and how many,
-- whether one is "all", and where its body is.
local froms, flagv, to0, ntov, allv, bodyat = {}, {}, {}, {}, {}, {}
for m = 1, n do
	local nto = tonumber(ARGV[i + 2])
	froms[m], flagv[m] = ARGV[i], tonumber(ARGV[i + 1])
	to0[m], ntov[m] = i + 3, nto
	want(ARGV[i])
	for a = i + 3, i + 2 + nto do
		if ARGV[a] ~= 'all' then want(ARGV[a]) end
	end
	i = i + 3 + nto
	bodyat[m] = i
	i = i + 1
end
ask_all()
for m = 1, n do
	if not known[froms[m]] then
		return unknown_sender(froms[m])
	end
	for a = to0[m], to0[m] + ntov[m] - 1 do
		local r = ARGV[a]
		if bad_recipient(r) then
			return unknown_recipient(r)
		elseif r == 'all' then
			allv[m] = true
		end
	end
end
-- Message m's recipients: every role for "all", else those named.
local everyone = nil
local function recipients(m)
	if allv[m] then
		everyone = everyone or redis.call('LRANGE', p .. 'roles', 0, -1)
		return everyone
	end
	return { unpack(ARGV, to0[m], to0[m] + ntov[m] - 1) }
end

-- Memories are trimmed at the end, and only those over the cap (RPUSH
-- says how long the list is).
local trim = {}
local function memory_add(role, id)
	if redis.call('RPUSH', p .. 'mem:' .. role, id) > memmax then
		trim[role] = true
	end
end
local function memory_add_all(role, ids)
	for s = 1, #ids, 1000 do
		local e = math.min(s + 999, #ids)
		if redis.call('RPUSH', p .. 'mem:' .. role, unpack(ids, s, e)) >
		    memmax then
			trim[role] = true
		end
	end
end

-- In a batch, publishing to a channel nobody listens to is skipped
-- (pattern subscribers count as listeners); for one message the check
-- would cost more than the PUBLISH.
local listened = n == 1 or mode == 'publish' or
    redis.call('PUBSUB', 'NUMPAT') > 0 or
    redis.call('PUBSUB', 'NUMSUB', p .. 'events')[2] > 0

-- Writes to keys many messages share (the bodies hash, the history, the
-- requirements, each recipient's inbox) are gathered and made once per key
-- at the end, in chunks: a reply from each of 10,000 agents to one
-- moderator is then a few calls, not 30,000.
local fields, hist, req, inboxes, order = {}, {}, {}, {}, {}
-- The acked senders' in-flight lists and leases, dropped at the end with
-- one DEL and one HDEL per thousand.
local acked, unleased, dropped = {}, {}, {}
local function push_all(key, values)
	for s = 1, #values, 1000 do
		redis.call('RPUSH', key, unpack(values, s, math.min(s + 999, #values)))
	end
end

local ids = {}
local last = redis.call('INCRBY', p .. 'seq', n)
for m = 1, n do
	local from, flags = froms[m], flagv[m]
	local light = flags >= 2
	local isrole = from ~= 'user_requirement'
	-- The id as a string once: a number passed to redis.call, or joined
	-- to a string, is formatted as a float each time.
	local num = last - n + m
	local id = string.format('%d', num)
	if isrole and flags % 2 == 1 and not dropped[from] then
		local fl = p .. 'inflight:' .. from
		if not light then
			-- Into memory a thousand at a time: a moderator that
			-- read 100,000 answers makes 100 calls, not 100,000.
			local read = redis.call('LRANGE', fl, 0, -1)
			for k, e in ipairs(read) do
				if string.byte(e, 1) == 114 then -- 'r'
					read[k] = string.sub(e, 2)
				end
			end
			memory_add_all(from, read)
		end
		dropped[from] = true
		acked[#acked + 1] = fl
		unleased[#unleased + 1] = from
	end
	local body = '{"id":' .. id .. ',' .. string.sub(ARGV[bodyat[m]], 2)
	fields[#fields + 1] = id
	fields[#fields + 1] = body
	hist[#hist + 1] = id
	if not isrole then
		req[#req + 1] = id
	end
	local rcpts = recipients(m)
	if n == 1 then
		-- One message (a task to all of 100,000 roles): straight into
		-- each inbox, no gathering. The roles list has no duplicates
		-- (register.lua), so "all" needs no table of those seen.
		local seen = not allv[m] and {} or nil
		local inbox = p .. 'inbox:'
		for _, r in ipairs(rcpts) do
			if r ~= from and not (seen and seen[r]) then
				if seen then seen[r] = true end
				redis.call('RPUSH', inbox .. r, id)
			end
		end
	else
		local seen = #rcpts > 1 and {} or nil
		for _, r in ipairs(rcpts) do
			if r ~= from and not (seen and seen[r]) then
				if seen then seen[r] = true end
				if not inboxes[r] then
					inboxes[r] = {}
					order[#order + 1] = r
				end
				local box = inboxes[r]
				box[#box + 1] = id
			end
		end
	end
	if isrole and not light then
		redis.call('RPUSH', p .. 'view:' .. from, id)
		memory_add(from, id)
	end
	if listened then
		redis.call('PUBLISH', p .. 'events', body)
	end
	ids[m] = num
end
for s = 1, #fields, 1000 do
	redis.call('HSET', p .. 'msg', unpack(fields, s, math.min(s + 999, #fields)))
end
push_all(p .. 'history', hist)
if #req > 0 then
	push_all(p .. 'req', req)
end
for _, r in ipairs(order) do
	push_all(p .. 'inbox:' .. r, inboxes[r])
end
for s = 1, #acked, 1000 do
	local e = math.min(s + 999, #acked)
	redis.call('DEL', unpack(acked, s, e))
	redis.call('HDEL', p .. 'lease', unpack(unleased, s, e))
end
for role in pairs(trim) do
	redis.call('LTRIM', p .. 'mem:' .. role, -memmax, -1)
end
return ids
