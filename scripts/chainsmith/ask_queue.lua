-- What the serve loop's two services (chainsmith.acme_service over pki.acme,
-- chainsmith.api_service over pki.signapi) share about their queue of asks:
-- taking the next one, and closing the queue with the CA behind it.
local ask_queue = {}

-- The next ask of queue (queue:next waits at most timeout_ms), or nil and
-- what a service's step then returns: false when none came, nil once the
-- queue is closed.
function ask_queue.take(queue, timeout_ms)
    local ask, err = queue:next(timeout_ms)
    if ask then
        return ask
    end
    -- (not "err == nil and false or nil", which is nil either way: the
    -- serve loop took every timeout for a closed queue and slept 100 ms
    -- more without looking at it)
    if err == nil then
        return nil, false
    end
    return nil, nil
end

-- Close service[field] (its queue) and service.ca, each once.
function ask_queue.close(service, field)
    if service[field] then
        service[field]:close()
    end
    if service.ca then
        service.ca:close()
        service.ca = nil
    end
end

return ask_queue
