-- Store a batch of messages, all or nothing: every sender and recipient of
-- every message is checked before anything is written. For each message:
-- a new id from the session counter, the body (JSON, to which the id is
-- added) kept in the msg hash under the id, the id appended to the history,
-- to the requirements if
-- the sender is user_requirement, to each recipient's inbox ("all" = every
-- role but the sender), to the sender's view and memory, and an event.
-- With ack = 1 the sender's in-flight messages (what it drained for this
-- reply) are moved to its memory first.
-- KEYS[1] = prefix; ARGV = memory_max, mode, n, then per message:
--   from, ack, nto, to_1 .. to_nto, body
-- Mode "check" only checks the roles (a batch the caller stores in several
-- calls, so that none holds Redis for long, is checked whole first); mode
-- "publish" stores as "store" does and always publishes (a Redis Cluster:
-- PUBSUB counts only this node's subscribers, PUBLISH reaches every node).
-- Returns the ids.
local p = KEYS[1]
local memmax = tonumber(ARGV[1])
local mode = ARGV[2]
local n = tonumber(ARGV[3])
local i = 4
local plan = {}
local known = { user_requirement = true } -- role checks, memoized
local function registered(r)
	if known[r] == nil then
		known[r] = redis.call('SISMEMBER', p .. 'roleset', r) == 1
	end
	return known[r]
end
for m = 1, n do
	local from, ack, nto = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
	i = i + 3
	if not registered(from) then
		return redis.error_reply('AGORA_ENOTFOUND unknown sender role ' .. from)
	end
	local to, all = {}, false
	for k = 1, nto do
		local r = ARGV[i]
		i = i + 1
		if r == 'all' then
			all = true
		elseif r == 'user_requirement' or not registered(r) then
			return redis.error_reply('AGORA_ENOTFOUND unknown recipient role ' .. r)
		else
			to[#to + 1] = r
		end
	end
	plan[m] = { from = from, ack = ack, all = all, to = to, body = ARGV[i] }
	i = i + 1
end
if mode == 'check' then
	return {}
end

-- Memories are trimmed at the end, and only those over the cap (RPUSH
-- says how long the list is).
local trim = {}
local function memory_add(role, id)
	if redis.call('RPUSH', p .. 'mem:' .. role, id) > memmax then
		trim[role] = true
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
local function push_all(key, values)
	for s = 1, #values, 1000 do
		redis.call('RPUSH', key, unpack(values, s, math.min(s + 999, #values)))
	end
end

local everyone = nil
local ids = {}
local last = redis.call('INCRBY', p .. 'seq', n)
for m = 1, n do
	local msg = plan[m]
	local isrole = msg.from ~= 'user_requirement'
	local id = last - n + m
	if isrole and msg.ack == '1' then
		local fl = p .. 'inflight:' .. msg.from
		for _, e in ipairs(redis.call('LRANGE', fl, 0, -1)) do
			if string.sub(e, 1, 1) == 'r' then e = string.sub(e, 2) end
			memory_add(msg.from, e)
		end
		redis.call('DEL', fl)
		redis.call('HDEL', p .. 'lease', msg.from)
	end
	local body = '{"id":' .. id .. ',' .. string.sub(msg.body, 2)
	fields[#fields + 1] = id
	fields[#fields + 1] = body
	hist[#hist + 1] = id
	if not isrole then
		req[#req + 1] = id
	end
	local rcpts = msg.to
	if msg.all then
		everyone = everyone or redis.call('LRANGE', p .. 'roles', 0, -1)
		rcpts = everyone
	end
	if n == 1 then
		-- One message (a task to all of 100,000 roles): straight into
		-- each inbox, no gathering.
		local seen = {}
		for _, r in ipairs(rcpts) do
			if r ~= msg.from and not seen[r] then
				seen[r] = true
				redis.call('RPUSH', p .. 'inbox:' .. r, id)
			end
		end
	else
		local seen = #rcpts > 1 and {} or nil
		for _, r in ipairs(rcpts) do
			if r ~= msg.from and not (seen and seen[r]) then
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
	if isrole then
		redis.call('RPUSH', p .. 'view:' .. msg.from, id)
		memory_add(msg.from, id)
	end
	if listened then
		redis.call('PUBLISH', p .. 'events', body)
	end
	ids[m] = id
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
for role in pairs(trim) do
	redis.call('LTRIM', p .. 'mem:' .. role, -memmax, -1)
end
return ids
