-- chainsmith.trust: the root it picks (never a leaf), the names it gives,
-- the manifest, which stores an action covers, and where it looks for NSS
-- databases. The stores' tools themselves: tests/e2e/trust_*.sh.
package.path = "../../scripts/?.lua;" .. package.path
local t = require "testlib"
local pki = require "pki"
local trust = require "chainsmith.trust"
local run = require "chainsmith.trust_run"
local nss = require "chainsmith.trust_nss"
local system = require "chainsmith.trust_system"

local c = t.chain()
local dir = t.tmpdir()
assert(c.root:save(dir .. "/root.pem"))

t.case("load_root: the chain's root, with its fingerprint and common name", function()
    local root = assert(trust.load_root(dir))
    assert(root.fingerprint == c.root:fingerprint():lower())
    assert(root.fingerprint:match("^%x+$") and #root.fingerprint == 64)
    assert(root.short == root.fingerprint:sub(1, 16))
    assert(root.subject == "Simple Root CA", root.subject)
    assert(root.cert == c.root)
end)

local empty = t.tmpdir()
t.expect_fail("load_root: no chain built", "notfound", "root%.pem.*build_chain%.lua",
    trust.load_root, empty)

local leafdir = t.tmpdir()
assert(c.leaf:save(leafdir .. "/root.pem"))
t.expect_fail("load_root: a leaf is refused", "invalid", "not a self%-signed CA",
    trust.load_root, leafdir)
local interdir = t.tmpdir()
assert(c.inter:save(interdir .. "/root.pem"))
t.expect_fail("load_root: an intermediate is refused", "invalid", "not a self%-signed CA",
    trust.load_root, interdir)

t.case("entry: each store's name says chainsmith and carries the fingerprint", function()
    local root = assert(trust.load_root(dir))
    local s = root.short
    assert(trust.entry("system", root).name == "chainsmith-" .. s .. ".crt")
    assert(trust.entry("nss", root).name == "chainsmith Simple Root CA " .. s)
    assert(trust.entry("java", root).name == "chainsmith-" .. s)
    assert(trust.entry("nss", root).fingerprint == root.fingerprint)
end)

t.case("manifest: none is empty; written, read back; emptied, removed", function()
    local m = t.tmpdir()
    assert(#assert(trust.read_manifest(m)) == 0)
    local list = { { store = "nss", location = "/x/.pki/nssdb", name = "chainsmith a 1",
                     fingerprint = "ab", subject = "a" } }
    assert(trust.write_manifest(m, list))
    local back = assert(trust.read_manifest(m))
    assert(#back == 1 and back[1].location == "/x/.pki/nssdb" and back[1].name == "chainsmith a 1")
    assert(trust.write_manifest(m, {}))
    assert(t.read_file(m .. "/trust.json") == nil)
end)

-- Written by core (random temporary name, fsync, rename): a leftover of the
-- old fixed trust.json.tmp name, even a folder, does not stop it.
t.case("manifest: written by core, whatever is left beside it", function()
    local m = t.tmpdir()
    assert(os.execute("mkdir " .. t.quote(m .. "/trust.json.tmp")))
    local list = { { store = "nss", location = "/y", name = "chainsmith b 2",
                     fingerprint = "cd", subject = "b" } }
    assert(trust.write_manifest(m, list))
    assert(#assert(trust.read_manifest(m)) == 1)
    assert(t.sh("stat -c %a " .. t.quote(m .. "/trust.json")) == "644")
    assert(t.sh("ls -A " .. t.quote(m)) == "trust.json\ntrust.json.tmp", "no temporary left")
end)

t.case("manifest: entries of unknown stores or missing fields are dropped", function()
    local m = t.tmpdir()
    t.write_file(m .. "/trust.json", '{"installed":[{"store":"nope","location":"a","name":"b",'
        .. '"fingerprint":"c"},{"store":"nss","location":"a"},{"store":"java","location":"k",'
        .. '"name":"chainsmith-1","fingerprint":"f"}]}')
    local back = assert(trust.read_manifest(m))
    assert(#back == 1 and back[1].store == "java")
end)

local corrupt = t.tmpdir()
t.write_file(corrupt .. "/trust.json", "{not json")
t.expect_fail("manifest: a corrupt one is an error naming it", "invalid", "trust%.json",
    trust.read_manifest, corrupt)
t.expect_fail("install: a corrupt manifest stops it before any store", "invalid", "trust%.json",
    trust.install, corrupt, assert(trust.load_root(dir)), { "nss" }, {}, function() end)

local probes = {
    system = { usable = true, writable = false, reason = "needs root: run it with sudo" },
    nss = { usable = true, writable = true },
    java = { reason = "keytool not found" },
}

t.case("select: the default set is system (when writable) and nss", function()
    local chosen, skipped = assert(trust.select({}, probes, { writing = true }))
    assert(#chosen == 1 and chosen[1] == "nss")
    assert(skipped[1].store == "system" and skipped[1].reason:find("sudo"))
    assert(skipped[2].store == "java")
    local all = { system = { usable = true, writable = true }, nss = probes.nss,
                  java = probes.java }
    chosen = assert(trust.select({}, all, { writing = true }))
    assert(#chosen == 2 and chosen[1] == "system" and chosen[2] == "nss")
end)

t.case("select: uninstall's default set adds the stores its manifest names", function()
    local all = { system = probes.system, nss = probes.nss, java = { usable = true,
                                                                    writable = true } }
    local chosen = assert(trust.select({}, all, { writing = true, also = { java = true } }))
    assert(#chosen == 2 and chosen[1] == "nss" and chosen[2] == "java")
    local _, skipped = trust.select({}, probes, { writing = true, also = { java = true } })
    assert(skipped[2].store == "java" and skipped[2].reason:find("keytool"))
end)

t.case("select: under sudo the default set leaves the user's NSS databases alone", function()
    local chosen, skipped = trust.select({}, probes, { writing = true, under_sudo = "ann" })
    assert(#chosen == 0)
    assert(skipped[2].store == "nss" and skipped[2].reason:find("ann"))
end)

t.case("select: stores asked for, in a fixed order, once each", function()
    local chosen = assert(trust.select({ "nss", "system", "nss" }, probes, { writing = false }))
    assert(#chosen == 2 and chosen[1] == "system" and chosen[2] == "nss")
end)

t.expect_fail("select: a store asked for that is missing", "notfound", "java store: keytool",
    trust.select, { "java" }, probes, { writing = true })
t.expect_fail("select: a store asked for that needs root", "io", "system store: .*sudo",
    trust.select, { "system" }, probes, { writing = true })

t.case("nss: Chromium's database, snap Chromium's, then Firefox profiles with one", function()
    local home = t.tmpdir()
    for _, p in ipairs { "/.mozilla/firefox/b.default", "/.mozilla/firefox/a.dev",
                         "/.mozilla/firefox/nodb", "/snap/firefox/common/.mozilla/firefox/s.x",
                         "/snap/chromium/current/.pki/nssdb" } do
        assert(pki.mkdir(home .. p))
        if not p:find("nodb") then
            t.write_file(home .. p .. "/cert9.db", "")
        end
    end
    local locs = nss.locations { home = home }
    local paths = {}
    for i, l in ipairs(locs) do paths[i] = l.path:sub(#home + 1) end
    assert(table.concat(paths, " ") == "/.pki/nssdb /snap/chromium/current/.pki/nssdb "
        .. "/.mozilla/firefox/a.dev "
        .. "/.mozilla/firefox/b.default /snap/firefox/common/.mozilla/firefox/s.x",
        table.concat(paths, " "))
    assert(locs[1].create and not locs[2].create)
end)

t.case("system: a prefix moves every folder and needs no root", function()
    local s = system.probe { prefix = "/sandbox" }
    if s.usable then -- update-ca-certificates is installed
        assert(s.writable)
        assert(system.locations(s)[1].path == "/sandbox/usr/local/share/ca-certificates")
        assert(s.paths.etc_dir == "/sandbox/etc/ssl/certs")
    else
        assert(s.reason:find("update%-ca%-certificates not found"), s.reason)
    end
end)

t.case("run.quote: arguments reach the tool as they are", function()
    local odd = "it's $HOME `id` \"q\" ; x"
    local ok, out = run.run { "printf", "%s", odd }
    assert(ok and out == odd, out)
end)

t.case("run.pem: the certificate out of a tool's chatter", function()
    local pem = c.root:pem()
    local got = run.pem("Warning: something\n" .. pem .. "trailing\n")
    assert(pki.load_cert(got) == c.root)
    assert(run.pem("no certificate here") == nil)
end)

t.cleanup()
t.done()
