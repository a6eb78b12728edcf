-- pki.stage_files and pki.recover_files: files staged in a journal inside
-- the transaction, named after the commit, undone on abort; bad input
-- refused with nothing left behind. (Crashes: tests/e2e/kill_issue.sh.)
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local pending = dir .. "/pending"
local store = assert(pki.open_store(dir .. "/ca.db"))
local key = assert(pki.generate_key { type = "ec", curve = "P-256" })
local function entries(d)
    return t.sh("ls -A " .. t.quote(d or dir) .. " 2>/dev/null")
end
local function mode(path)
    return t.sh("stat -c %a " .. t.quote(path))
end
-- A recorded, uncommitted certificate in a new batch.
local function issue()
    assert(store:begin())
    return assert(store:issue(t.root_spec(), key, nil, key, "root"))
end
local function files(base, cert)
    return {
        { path = dir .. "/" .. base .. ".key", key = key },
        { path = dir .. "/" .. base .. ".pem", cert = cert },
    }
end

t.case("staged, committed, placed: both files, modes, no journal", function()
    local cert = issue()
    local j = assert(pki.stage_files(pending, store, cert, files("a", cert)))
    assert(not entries():find("a%.pem\n"), "no final name before the commit")
    assert(entries(pending):find("%.journal"), "a journal while staged")
    assert(store:commit())
    assert(j:place() == true)
    assert(mode(dir .. "/a.key") == "600")
    assert(t.read_file(dir .. "/a.pem") == cert:pem())
    assert(not entries():find("%.tmp%-"), "no temporary file")
    assert(entries(pending) == "", "no journal")
end)

t.case("aborted after a rollback: nothing left", function()
    local cert = issue()
    local j = assert(pki.stage_files(pending, store, cert, files("b", cert)))
    store:rollback()
    j:abort()
    assert(not entries():find("b%."), "no file of b")
    assert(entries(pending) == "", "no journal")
end)

t.expect_fail("an existing target without overwrite", "exists", "a%.key: exists", function()
    local cert = issue()
    local j, err, code = pki.stage_files(pending, store, cert, files("a", cert))
    store:rollback()
    return j, err, code
end)
t.check("... left nothing", not entries():find("%.tmp%-") and entries(pending) == "")

t.expect_fail("a name another live journal is writing", "exists", "another issuance",
    function()
        local cert = issue()
        local j = assert(pki.stage_files(pending, store, cert, files("c", cert)))
        local second, err, code = pki.stage_files(pending, store, cert,
            { { path = dir .. "/c.pem", cert = cert } })
        j:abort()
        store:rollback()
        return second, err, code
    end)

t.expect_fail("a tab in a file name", "invalid", "tab", function()
    local cert = issue()
    local j, err, code = pki.stage_files(pending, store, cert,
        { { path = dir .. "/x\ty.pem", cert = cert } })
    store:rollback()
    return j, err, code
end)

local self_signed = assert(pki.sign(t.root_spec(), key))
t.expect_error("a bad entry raises", "exactly one of key, cert, certs", function()
    return pki.stage_files(pending, store, self_signed, { { path = dir .. "/z.pem" } })
end)

t.case("recover: no folder, nothing to do", function()
    local f, b = pki.recover_files(dir .. "/none", store)
    assert(f == 0 and b == 0)
end)

t.case("place twice raises", function()
    local cert = issue()
    local j = assert(pki.stage_files(pending, store, cert, files("d", cert)))
    assert(store:commit())
    assert(j:place())
    local ok = pcall(j.place, j)
    assert(not ok)
end)

store:close()
t.cleanup()
t.done()
