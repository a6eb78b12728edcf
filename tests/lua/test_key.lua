-- pki.key: generate, load, save, inspect; every failure's code and message.
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()

-- every key type
for _, c in ipairs{
    {name = "ec P-256", params = {type = "ec", curve = "P-256"}, type = "ec", curve = "P-256",
     bits = 256},
    {name = "ec P-384", params = {type = "ec", curve = "P-384"}, type = "ec", curve = "P-384",
     bits = 384},
    {name = "ed25519", params = {type = "ed25519"}, type = "ed25519", bits = 256},
    {name = "rsa 2048", params = {type = "rsa", bits = 2048}, type = "rsa", bits = 2048},
} do
    t.case("generate " .. c.name, function()
        local key = assert(pki.generate_key(c.params))
        local info = key:info()
        assert(info.type == c.type, info.type)
        assert(info.curve == c.curve, tostring(info.curve))
        assert(info.bits == c.bits, info.bits)
        assert(info.fingerprint:match("^%x+$") and #info.fingerprint == 64)
        local pem = assert(key:public_pem())
        assert(pem:find("^%-%-%-%-%-BEGIN PUBLIC KEY%-%-%-%-%-"))
        assert(not pem:find("PRIVATE"))
        assert(tostring(key):find("^pki.key %(" .. c.type))
        -- save, read back: same public key
        local path = dir .. "/" .. c.name:gsub(" ", "_") .. ".pem"
        assert(key:save(path) == true)
        local back = assert(pki.read_key(path))
        assert(back:info().fingerprint == info.fingerprint)
        local loaded = assert(pki.load_key(t.read_file(path)))
        assert(loaded:public_pem() == pem)
    end)
end

-- failures that correct code can meet: nil, message, code
t.expect_fail("unknown curve names it", "invalid", "P%-999", pki.generate_key,
              {type = "ec", curve = "P-999"})
t.expect_fail("unknown type names it", "invalid", "dsa", pki.generate_key, {type = "dsa"})
t.expect_fail("missing type", "invalid", "type", pki.generate_key, {curve = "P-256"})
t.expect_fail("unknown field", "invalid", "unknown field 'curv'", pki.generate_key,
              {type = "ec", curv = "P-256"})
t.expect_fail("bits as string", "invalid", "key.bits: expected integer, got string",
              pki.generate_key, {type = "rsa", bits = "2048"})
t.expect_fail("rsa too small", "invalid", "unsupported RSA size 512 bits", pki.generate_key,
              {type = "rsa", bits = 512})
t.expect_fail("malformed PEM", "invalid", "not a PEM or DER private key", pki.load_key,
              "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
t.expect_fail("garbage bytes name the source", "invalid", "mykey", pki.load_key,
              "garbage", "mykey")
t.expect_fail("read a missing file", "notfound", "nope.pem", pki.read_key,
              dir .. "/nope.pem")

t.case("save twice: exists, file unchanged; overwrite replaces", function()
    local a = assert(pki.generate_key{type = "ed25519"})
    local b = assert(pki.generate_key{type = "ed25519"})
    local path = dir .. "/twice.pem"
    assert(a:save(path))
    local before = t.read_file(path)
    local ok, msg, code = b:save(path)
    assert(ok == nil and code == "exists", tostring(code))
    assert(msg:find("twice.pem", 1, true), msg)
    assert(t.read_file(path) == before)
    assert(b:save(path, {overwrite = true}) == true)
    assert(pki.read_key(path):info().fingerprint == b:info().fingerprint)
end)

t.case("saved key is mode 0600", function()
    local key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local path = dir .. "/mode.pem"
    assert(key:save(path))
    local mode = t.sh("stat -c %a " .. t.quote(path))
    assert(mode == "600", mode)
end)

-- caller bugs raise, naming the argument
t.expect_error("generate_key with a string",
               "bad argument #1 to '[%w.]*generate_key' %(table expected, got string%)",
               pki.generate_key, "ec")
t.expect_error("generate_key with nothing", "bad argument #1", pki.generate_key)
t.expect_error("save with a bad option", "unknown option 'overwrit'", function()
    local key = assert(pki.generate_key{type = "ed25519"})
    key:save(dir .. "/opt.pem", {overwrit = true})
end)
t.expect_error("method on a non-key", "pki.key expected", function()
    local key = assert(pki.generate_key{type = "ed25519"})
    key.info("not a key")
end)

t.case("close is idempotent; use after close raises", function()
    local key = assert(pki.generate_key{type = "ed25519"})
    key:close()
    key:close()
    assert(tostring(key) == "pki.key (closed)")
    local ok, err = pcall(key.info, key)
    assert(not ok and err:find("attempt to use a closed pki.key"), err)
end)

t.case("<close> variable", function()
    local outer
    do
        local key <close> = assert(pki.generate_key{type = "ed25519"})
        outer = key
        assert(key:info().type == "ed25519")
    end
    local ok, err = pcall(outer.public_pem, outer)
    assert(not ok and err:find("closed pki.key"), err)
end)

t.case("key_generator: many keys of one kind, each different", function()
    for _, params in ipairs { {type = "ec", curve = "P-256"}, {type = "ec", curve = "P-384"},
                              {type = "ed25519"}, {type = "rsa", bits = 2048} } do
        local gen <close> = assert(pki.key_generator(params))
        assert(tostring(gen):find("^pki.keygen"))
        local seen = {}
        for _ = 1, params.type == "rsa" and 2 or 5 do
            local info = assert(gen:generate()):info()
            assert(info.type == params.type and info.curve == params.curve, info.type)
            assert(not seen[info.fingerprint], "the same key twice")
            seen[info.fingerprint] = true
        end
    end
end)

t.case("key_generator refuses what generate_key refuses", function()
    local cases = {
        { {type = "ec", curve = "P-521"}, "unknown curve 'P-521'" },
        { {type = "dsa"}, "unknown key type 'dsa'" },
        { {type = "rsa", bits = 1024}, "unsupported RSA size 1024" },
        { {type = "ec", curv = "P-256"}, "unknown field 'curv'" },
        { {curve = "P-256"}, "missing field 'type'" },
    }
    for _, c in ipairs(cases) do
        local gen, msg, code = pki.key_generator(c[1])
        assert(gen == nil and code == "invalid" and msg:find(c[2], 1, true), msg)
    end
end)

t.case("key_generator: close is idempotent; use after close raises", function()
    local gen = assert(pki.key_generator{type = "ec", curve = "P-256"})
    gen:close()
    gen:close()
    assert(tostring(gen) == "pki.keygen (closed)")
    local ok, err = pcall(gen.generate, gen)
    assert(not ok and err:find("attempt to use a closed pki.keygen"), err)
end)

-- Encrypted at rest: key:save{passphrase =}, read_key/load_key{passphrase =}.
t.case("save with a passphrase: encrypted PKCS#8, 0600, read back with it", function()
    local key = assert(pki.generate_key{type = "ec", curve = "P-384"})
    local p = dir .. "/enc.key"
    assert(key:save(p, {passphrase = "open sesame"}) == true)
    local pem = t.read_file(p)
    assert(pem:find("^%-%-%-%-%-BEGIN ENCRYPTED PRIVATE KEY%-%-%-%-%-"))
    assert(not pem:find("open sesame", 1, true))
    assert(t.sh("stat -c %a " .. t.quote(p)) == "600")
    local e = assert(pki.encrypted_key_info(pem, p))
    assert(e.cipher == "AES-256-CBC" and e.kdf == "PBKDF2" and e.prf == "hmacWithSHA256")
    assert(e.iterations == 600000)
    local back = assert(pki.read_key(p, {passphrase = "open sesame"}))
    assert(back:info().fingerprint == key:info().fingerprint)
    back = assert(pki.load_key(pem, "enc.key", {passphrase = "open sesame"}))
    assert(back:info().fingerprint == key:info().fingerprint)
    -- a plain key loads whatever the passphrase
    assert(key:save(dir .. "/plain.key"))
    assert(pki.read_key(dir .. "/plain.key", {passphrase = "unused"}))
    -- overwrite with another passphrase
    assert(key:save(p, {passphrase = "other", overwrite = true}))
    assert(pki.read_key(p, {passphrase = "other"}))
end)
t.expect_fail("read_key: wrong passphrase names the file", "verify",
              "enc%.key: wrong passphrase or corrupt key$", pki.read_key, dir .. "/enc.key",
              {passphrase = "open sesame"})
t.expect_fail("read_key: no passphrase says how to give one", "locked",
              "enc%.key: encrypted private key: give its passphrase.*%-%-passphrase%-env",
              pki.read_key, dir .. "/enc.key")
t.expect_fail("read_key: empty passphrase", "invalid", "enc%.key: empty passphrase",
              pki.read_key, dir .. "/enc.key", {passphrase = ""})
t.expect_fail("load_key: wrong passphrase", "verify", "^mem: wrong passphrase",
              function() return pki.load_key(t.read_file(dir .. "/enc.key"), "mem",
                                             {passphrase = "x"}) end)
t.expect_fail("save: empty passphrase, nothing written", "invalid", "empty passphrase",
              function()
                  local k = assert(pki.generate_key{type = "ed25519"})
                  return k:save(dir .. "/never.key", {passphrase = ""})
              end)
t.check("... nothing written", t.read_file(dir .. "/never.key") == nil)
t.expect_fail("save: an existing file is kept", "exists", "enc%.key: exists",
              function()
                  local k = assert(pki.generate_key{type = "ed25519"})
                  return k:save(dir .. "/enc.key", {passphrase = "p"})
              end)
t.expect_fail("save: exists names no option (its name is the caller's)", "exists",
              "enc%.key: exists, not overwritten$", function()
                  local k = assert(pki.generate_key{type = "ed25519"})
                  return k:save(dir .. "/enc.key")
              end)

-- Well-formed keys of kinds we refuse: "unsupported", not "invalid", so a
-- caller can tell them from garbage without reading the message.
local p521 = t.sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521")
local dsa = t.sh("openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:2048"
                 .. " | openssl genpkey -paramfile /dev/stdin")
t.expect_fail("load_key: a P-521 key is unsupported", "unsupported",
              "^p521: unsupported curve 'secp521r1'", pki.load_key, p521, "p521")
t.expect_fail("load_key: a DSA key is unsupported", "unsupported",
              "^dsa: unsupported key type 'DSA'", pki.load_key, dsa, "dsa")
t.expect_fail("load_key: garbage stays invalid", "invalid", "^junk: ", pki.load_key,
              "not a key", "junk")

-- pki.type names the module's objects, closed ones too; nil for anything else.
t.case("pki.type", function()
    local k = assert(pki.generate_key{type = "ed25519"})
    local gen = assert(pki.key_generator{type = "ed25519"})
    assert(pki.type(k) == "pki.key")
    assert(pki.type(gen) == "pki.keygen")
    k:close()
    assert(pki.type(k) == "pki.key", "a closed key is still a pki.key")
    for _, v in ipairs{ "pki.key", 42, {}, io.stdout, false, print } do
        assert(pki.type(v) == nil, tostring(v))
    end
    assert(pki.type(setmetatable({}, {__name = "pki.cert"})) == nil, "a table is no pki.cert")
    assert(pki.type(nil) == nil)
end)
t.expect_error("pki.type: no argument raises", "bad argument #1 to 'pki.type'", pki.type)

-- the shared field readers: data fails "invalid", options raise; both name the field
t.expect_fail("bits as a float", "invalid", "^key%.bits: expected integer, got float$",
              pki.generate_key, {type = "rsa", bits = 2048.5})
t.case("bits as an integral float is the integer", function()
    assert(pki.key_generator{type = "rsa", bits = 2048.0})
end)
t.expect_error("save: overwrite not a boolean raises", "overwrite: boolean expected, got string",
               function()
                   local k = assert(pki.generate_key{type = "ed25519"})
                   return k:save(dir .. "/never2.key", {overwrite = "yes"})
               end)

t.expect_error("read_key: passphrase not a string", "passphrase: string expected",
               pki.read_key, dir .. "/enc.key", {passphrase = 42})
t.expect_error("read_key: unknown option", "unknown option 'pass'", pki.read_key,
               dir .. "/enc.key", {pass = "x"})
t.expect_error("save: unknown option", "unknown option 'password'", function()
    local k = assert(pki.generate_key{type = "ed25519"})
    return k:save(dir .. "/x.key", {password = "x"})
end)

collectgarbage()
t.cleanup()
t.done()
