-- One format for every time the commands print: RFC 3339 in UTC, to the
-- second ("2026-12-02T03:04:05Z"). Sorts as text, reads the same in every
-- locale and time zone, and parses with any date library.
local timefmt = {}

-- t: Unix seconds.
function timefmt.utc(t)
    return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

return timefmt
