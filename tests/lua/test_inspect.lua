-- scripts/inspect.lua run as users run it: each kind of file, --json checked
-- against the openssl CLI, secrets never printed, every bad input's exit
-- status and message.
local here = arg[0]:match("(.-)[^/]*$") or ""
package.path = here .. "?.lua;" .. here .. "../../scripts/?.lua;" .. package.path
local pki = require "pki"
local cjson = require "cjson"
local t = require "testlib"

local LUA = os.getenv("CS_LUA") or "lua5.4"
local SCRIPT = here .. "../../scripts/inspect.lua"
local q = t.quote
local dir = t.tmpdir()
local function path(name) return dir .. "/" .. name end

-- Run inspect.lua with args (a string, already quoted); env is a prefix such
-- as "P=x". Returns stdout, stderr, exit status. The interpreter keeps any
-- sanitizer preload; the tools below run without it (t.sh).
local function inspect(args, env)
    local err = path("stderr")
    local f = assert(io.popen(("%s %s %s %s 2>%s"):format(env and ("env " .. env) or "", LUA,
        q(SCRIPT), args, q(err))))
    local out = f:read("a")
    local _, _, status = f:close()
    return out, t.read_file(err) or "", status
end

local function openssl(args)
    assert(os.execute("cd " .. q(dir) .. " && env -u LD_PRELOAD openssl " .. args
                      .. " >/dev/null 2>&1"), "openssl " .. args)
end

local function has(s, text)
    assert(s:find(text, 1, true), ("no %q in:\n%s"):format(text, s))
end

local function lacks(s, text)
    assert(not s:find(text, 1, true), ("unexpected %q in:\n%s"):format(text, s))
end

-- ---- fixtures: a chain of ours, keys of each type, files made by openssl ----

local c = t.chain()
assert(c.root:save(path("root.crt")))
assert(c.inter:save(path("inter.crt")))
assert(c.leaf:save(path("leaf.crt")))
assert(c.leaf_key:save(path("leaf.key")))
assert(pki.save_chain(path("chain.pem"), {c.leaf, c.inter, c.root}))
assert(pki.save_chain(path("served.pem"), {c.leaf, c.inter}))
assert(pki.save_chain(path("shuffled.pem"), {c.inter, c.leaf, c.root}))
t.write_file(path("bundle.pem"), t.read_file(path("leaf.crt")) .. t.read_file(path("leaf.key")))
openssl("x509 -in leaf.crt -outform DER -out leaf.der")

local keys = {
    {name = "ec", params = {type = "ec", curve = "P-384"}, shows = "EC P-384"},
    {name = "ed25519", params = {type = "ed25519"}, shows = "Ed25519"},
    {name = "rsa", params = {type = "rsa", bits = 2048}, shows = "RSA 2048"},
}
for _, k in ipairs(keys) do
    k.key = assert(pki.generate_key(k.params))
    assert(k.key:save(path(k.name .. ".key")))
    openssl(("pkey -in %s.key -outform DER -out %s.der"):format(k.name, k.name))
end
openssl("pkey -in ec.key -traditional -out ec-trad.key")
openssl("ecparam -genkey -name prime256v1 -out ecparam.key")

local PASSWORD = "pa55-word-never-shown"
openssl("pkcs12 -export -in leaf.crt -inkey leaf.key -certfile inter.crt -passout pass:"
        .. PASSWORD .. " -out pw.p12")
openssl("pkcs12 -export -in leaf.crt -inkey leaf.key -passout pass: -out open.p12")
openssl("pkcs8 -topk8 -in leaf.key -passout pass:" .. PASSWORD .. " -out enc.pem")
openssl("pkcs8 -topk8 -in leaf.key -passout pass:" .. PASSWORD .. " -outform DER -out enc.der")
openssl("ec -in leaf.key -aes256 -passout pass:" .. PASSWORD .. " -out enc-trad.pem")
t.write_file(path("pw.txt"), PASSWORD .. "\n")

-- an expired certificate and one not yet valid, signed by the intermediate
local now = os.time()
local function leaf_at(name, not_before, not_after)
    local spec = t.leaf_spec(name)
    spec.validity_days = nil
    spec.not_before, spec.not_after = not_before, not_after
    local cert = assert(pki.sign(spec, c.leaf_key, c.inter, c.inter_key))
    assert(cert:save(path(name .. ".crt")))
end
leaf_at("old", now - 40 * 86400, now - 3 * 86400 - 3600)
leaf_at("future", now + 2 * 86400 + 3600, now + 40 * 86400)
leaf_at("month", now - 86400, now + 29 * 86400 + 3600)

-- ---- certificates ----

t.case("certificate (PEM): every row, time left", function()
    local out, err, status = inspect(q(path("leaf.crt")))
    assert(status == 0, err)
    has(out, path("leaf.crt") .. ": certificate (PEM)")
    has(out, "subject    C=SE, O=Simple Inc, CN=localhost")
    has(out, "issuer     C=SE, O=Simple Inc, CN=Simple Intermediate CA")
    has(out, "valid      " .. os.date("!%Y-%m-%d", c.leaf:info().not_before))
    has(out, "SANs       DNS:localhost, IP:127.0.0.1")
    has(out, "key        EC P-256, signed with ecdsa-with-SHA256")
    has(out, "role       leaf (CA:FALSE)")
    has(out, "usage      digitalSignature (critical)")
    has(out, "ext usage  serverAuth")
    has(out, "serial     " .. c.leaf:serial())
    has(out, t.sh("openssl x509 -noout -fingerprint -sha256 -in " .. q(path("leaf.crt")))
        :match("=(.*)"))
    has(out, t.sh("openssl x509 -noout -fingerprint -sha1 -in " .. q(path("leaf.crt")))
        :match("=(.*)"))
    has(out, "SKI        ")
    has(out, "AKI        ")
end)

t.case("certificate (DER): the same certificate", function()
    local out, err, status = inspect(q(path("leaf.der")))
    assert(status == 0, err)
    has(out, ": certificate (DER)")
    has(out, "serial     " .. c.leaf:serial())
end)

t.case("CA rows: path length, name constraints, self-signed root", function()
    local out = inspect(q(path("inter.crt")) .. " " .. q(path("root.crt")))
    has(out, "role       CA, path length 0")
    has(out, "usage      keyCertSign, cRLSign (critical)")
    has(out, "role       CA, no path length limit, self-signed")
    local spec = t.inter_spec()
    spec.name_constraints = {critical = true, permitted = {dns = {".test"}},
                             excluded = {ip = {"10.0.0.0/8"}}}
    local k = assert(pki.generate_key{type = "ec", curve = "P-256"})
    assert(assert(pki.sign(spec, k, c.root, c.root_key)):save(path("nc.crt")))
    out = inspect(q(path("nc.crt")))
    has(out, "limits     permitted DNS:.test; excluded IP:10.0.0.0/8 (critical)")
end)

t.case("time left: days left, expired, not yet valid", function()
    has(inspect(q(path("month.crt"))), "Z (29 days left)")
    local out = inspect(q(path("old.crt")) .. " " .. q(path("future.crt")))
    has(out, "(expired 3 days ago)")
    has(out, "(not yet valid (starts in 2 days))")
    local lines = {}
    for line in inspect("--json " .. q(path("old.crt")) .. " " .. q(path("future.crt")))
            :gmatch("[^\n]+") do
        lines[#lines + 1] = cjson.decode(line)
    end
    assert(#lines == 2)
    assert(lines[1].certificates[1].status == "expired")
    assert(lines[1].certificates[1].seconds_left < 0)
    assert(lines[2].certificates[1].status == "not yet valid")
end)

t.case("--json: fields against openssl x509", function()
    local out, err, status = inspect("--json " .. q(path("leaf.crt")))
    assert(status == 0, err)
    assert(select(2, out:gsub("\n", "")) == 1, "one line per file")
    local j = cjson.decode(out)
    assert(j.file == path("leaf.crt") and j.kind == "certificate" and j.format == "PEM")
    local cert = j.certificates[1]
    local x509 = "openssl x509 -noout -in " .. q(path("leaf.crt"))
    assert(cert.serial == t.sh(x509 .. " -serial"):match("=(.*)"), cert.serial)
    assert(cert.sha256 == t.sh(x509 .. " -fingerprint -sha256"):match("=(.*)")
        :gsub(":", ""):lower())
    assert(cert.sha1 == t.sh(x509 .. " -fingerprint -sha1"):match("=(.*)"):gsub(":", ""):lower())
    -- "notAfter=2026-12-27 03:50:00Z"
    local want = t.sh(x509 .. " -enddate -dateopt iso_8601"):match("=(.*)"):gsub(" ", "T")
    assert(cert.not_after == want, cert.not_after .. " ~= " .. want)
    assert(cert.subject == "C=SE, O=Simple Inc, CN=localhost")
    assert(cert.subject_rdns[3][1] == "CN" and cert.subject_rdns[3][2] == "localhost")
    assert(cert.sans[1].type == "dns" and cert.sans[1].value == "localhost")
    assert(cert.sans[2].type == "ip" and cert.sans[2].value == "127.0.0.1")
    assert(cert.key.type == "ec" and cert.key.curve == "P-256" and cert.key.bits == 256)
    assert(cert.ca == false and cert.path_len == cjson.null and cert.self_signed == false)
    assert(cert.key_usage[1] == "digitalSignature")
    assert(cert.extended_key_usage[1] == "serverAuth")
    assert(cert.name_constraints == cjson.null)
    assert(cert.status == "valid" and cert.time_left:find("^%d+ days left$"))
    assert(cert.seconds_left > 29 * 86400 and cert.seconds_left <= 30 * 86400)
    assert(cert.not_after_unix - cert.not_before_unix == 30 * 86400)
    assert(#cert.subject_key_id == 40 and #cert.authority_key_id == 40)
    assert(j.chain == cjson.null and j.pkcs12 == cjson.null)
    assert(#j.keys == 0 and #j.csrs == 0)
    -- empty lists stay lists
    assert(out:find('"keys":[]', 1, true) and out:find('"csrs":[]', 1, true))
end)

-- ---- chains ----

t.case("chain in order, ending in the root", function()
    local out, err, status = inspect(q(path("chain.pem")))
    assert(status == 0, err)
    has(out, ": chain of 3 certificates (PEM)")
    has(out, "  certificate 1\n    subject    C=SE, O=Simple Inc, CN=localhost")
    has(out, "  certificate 3\n    subject    C=SE, O=Simple Inc, CN=Simple Root CA")
    has(out, "order      in order: each certificate is issued by the next; "
        .. "ends in a self-signed root")
    local j = cjson.decode((inspect("--json " .. q(path("chain.pem")))))
    assert(j.kind == "chain" and #j.certificates == 3)
    assert(j.chain.in_order == true and j.chain.ends_in_root == true)
    assert(j.chain.links[1].issued_by == true and j.chain.links[2].issued_by == true)
    assert(j.chain.suggested_order == cjson.null)
end)

t.case("chain as served: leaf and intermediate, the root not in the file", function()
    local out = inspect(q(path("served.pem")))
    has(out, "in order: each certificate is issued by the next; the last is issued by "
        .. "C=SE, O=Simple Inc, CN=Simple Root CA (not in this file)")
    local j = cjson.decode((inspect("--json " .. q(path("served.pem")))))
    assert(j.chain.in_order == true and j.chain.ends_in_root == false)
end)

t.case("chain out of order: which link breaks, which order works", function()
    local out, err, status = inspect(q(path("shuffled.pem")))
    assert(status == 0, err)
    has(out, "NOT in order: 1 is not issued by 2 (subject issuer mismatch); "
        .. "2 is not issued by 3")
    has(out, "this order works: 2, 1, 3")
    local j = cjson.decode((inspect("--json " .. q(path("shuffled.pem")))))
    assert(j.chain.in_order == false and j.chain.links[1].issued_by == false)
    assert(j.chain.links[1].reason == "subject issuer mismatch", j.chain.links[1].reason)
    local s = j.chain.suggested_order
    assert(s[1] == 2 and s[2] == 1 and s[3] == 3)
end)

-- ---- keys: shown by their public half only ----

-- No line of the key's base64 body, and no PEM private key block, in out.
local function no_secret(out, key_file)
    lacks(out, "PRIVATE KEY")
    for line in t.read_file(key_file):gmatch("[^\n]+") do
        if not line:find("^%-%-%-%-%-") and #line >= 16 then
            lacks(out, line)
            lacks(out, line:sub(1, 16))
        end
    end
end

for _, k in ipairs(keys) do
    t.case("key " .. k.name .. " (PEM and DER)", function()
        local fp = k.key:info().fingerprint
        for _, file in ipairs{k.name .. ".key", k.name .. ".der"} do
            local out, err, status = inspect(q(path(file)))
            assert(status == 0, err)
            has(out, ": private key (" .. (file:find("der$") and "DER" or "PEM") .. ")")
            has(out, "key        " .. k.shows .. ", private (never shown)")
            has(out, ("SHA-256    %s (public key)"):format(fp:upper():gsub("(%x%x)", "%1:")
                :sub(1, -2)))
            no_secret(out .. err, path(k.name .. ".key"))
            local j = cjson.decode((inspect("--json " .. q(path(file)))))
            assert(j.kind == "private_key" and j.keys[1].fingerprint == fp)
            assert(j.keys[1].private == true and j.keys[1].encrypted == false)
        end
    end)
end

t.case("traditional EC PEM key", function()
    local out, err, status = inspect(q(path("ec-trad.key")))
    assert(status == 0, err)
    has(out, "EC P-384, private (never shown)")
    no_secret(out, path("ec-trad.key"))
    -- `openssl ecparam -genkey` writes EC PARAMETERS before the key
    out, err, status = inspect(q(path("ecparam.key")))
    assert(status == 0, err)
    has(out, ": private key (PEM)")
    has(out, "EC P-256, private (never shown)")
end)

t.case("bundle: certificate and its key in one PEM", function()
    local out, err, status = inspect(q(path("bundle.pem")))
    assert(status == 0, err)
    has(out, ": bundle: 1 key, 1 certificate (PEM)")
    has(out, "matches    certificate 1")
    no_secret(out, path("leaf.key"))
    local j = cjson.decode((inspect("--json " .. q(path("bundle.pem")))))
    assert(j.kind == "bundle" and j.keys[1].certificate == 1)
end)

t.case("encrypted keys: the scheme, without the passphrase", function()
    for _, file in ipairs{"enc.pem", "enc.der"} do
        local out, err, status = inspect(q(path(file)))
        assert(status == 0, err)
        has(out, ": encrypted private key (")
        has(out, "encrypted  PBES2: PBKDF2 with hmacWithSHA256, 2048 iterations, AES-256-CBC")
        no_secret(out, path(file))
        local j = cjson.decode((inspect("--json " .. q(path(file)))))
        assert(j.kind == "encrypted_private_key" and j.keys[1].encrypted == true)
        assert(j.keys[1].encryption.cipher == "AES-256-CBC")
        assert(j.keys[1].type == cjson.null)
    end
    local out = inspect(q(path("enc-trad.pem")))
    has(out, "encrypted  OpenSSL PEM encryption (MD5 key derivation): AES-256-CBC (legacy)")
    no_secret(out, path("enc-trad.pem"))
end)

-- ---- CSRs and public keys ----

openssl("req -new -key leaf.key -subj '/C=SE/O=Simple Inc/CN=req.test' "
        .. "-addext subjectAltName=DNS:req.test,IP:10.0.0.1 -addext basicConstraints=CA:TRUE "
        .. "-addext keyUsage=critical,digitalSignature -addext extendedKeyUsage=serverAuth "
        .. "-out req.csr")
openssl("req -in req.csr -outform DER -out req.der")
openssl("pkey -in leaf.key -pubout -out pub.pem")
openssl("pkey -in leaf.key -pubout -outform DER -out pub.der")
t.write_file(path("new.csr"), (t.read_file(path("req.csr")):gsub("CERTIFICATE REQUEST",
    "NEW CERTIFICATE REQUEST")))
t.write_file(path("req-key.pem"), t.read_file(path("req.csr")) .. t.read_file(path("leaf.key")))
do -- a forged CSR: the last byte of the signature changed
    local der = t.read_file(path("req.der"))
    t.write_file(path("forged.der"), der:sub(1, -2) .. string.char(der:byte(-1) ~ 1))
end

t.case("CSR: PEM, DER and the NEW CERTIFICATE REQUEST label", function()
    local fp = c.leaf_key:info().fingerprint
    for _, file in ipairs{"req.csr", "req.der", "new.csr"} do
        local out, err, status = inspect(q(path(file)))
        assert(status == 0, err)
        has(out, ": certificate request (CSR) (")
        has(out, "subject    C=SE, O=Simple Inc, CN=req.test")
        has(out, "SANs       DNS:req.test, IP:10.0.0.1")
        has(out, "key        EC P-256")
        has(out, "asks CA    yes (CA:TRUE)")
        has(out, "usage      digitalSignature (critical)")
        has(out, "ext usage  serverAuth")
        has(out, "signature  ecdsa-with-SHA256, verified with its own key")
        local j = cjson.decode((inspect("--json " .. q(path(file)))))
        assert(j.kind == "csr" and #j.csrs == 1)
        local r = j.csrs[1]
        assert(r.subject == t.sh("openssl req -noout -subject -nameopt sep_comma_plus_space "
            .. "-in " .. q(path("req.csr"))):match("^subject=(.*)"), r.subject)
        assert(r.subject_rdns[3][1] == "CN" and r.subject_rdns[3][2] == "req.test")
        assert(r.names[2].type == "ip" and r.names[2].value == "10.0.0.1")
        assert(r.ca == true and r.key_usage[1] == "digitalSignature")
        assert(r.key.fingerprint == fp and r.signature_verified == true)
    end
end)

t.case("CSR with its key: the key is named as the CSR's", function()
    local out, err, status = inspect(q(path("req-key.pem")))
    assert(status == 0, err)
    has(out, ": bundle: 1 key, 1 CSR (PEM)")
    has(out, "CSR        the key of CSR 1")
    no_secret(out, path("leaf.key"))
    local j = cjson.decode((inspect("--json " .. q(path("req-key.pem")))))
    assert(j.keys[1].csr == 1)
end)

t.case("a forged CSR: exit 2, proof of possession failed", function()
    local out, err, status = inspect(q(path("forged.der")))
    assert(status == 2 and out == "")
    has(err, path("forged.der") .. ": CSR signature does not verify (proof of possession failed)")
end)

t.case("public key: PEM and DER", function()
    for _, file in ipairs{"pub.pem", "pub.der"} do
        local out, err, status = inspect(q(path(file)))
        assert(status == 0, err)
        has(out, ": public key (")
        has(out, "key        EC P-256, public")
        local j = cjson.decode((inspect("--json " .. q(path(file)))))
        assert(j.kind == "public_key" and j.keys[1].private == false)
        assert(j.keys[1].fingerprint == c.leaf_key:info().fingerprint)
    end
end)

-- ---- PKCS#12 ----

t.case("PKCS#12 with a password from the environment and from a file", function()
    for _, how in ipairs{
        {args = "--password-env CS_P12 ", env = "CS_P12=" .. q(PASSWORD)},
        {args = "--password-file " .. q(path("pw.txt")) .. " "},
    } do
        local out, err, status = inspect(how.args .. q(path("pw.p12")), how.env)
        assert(status == 0, err)
        has(out, ": PKCS#12: 1 key, 2 certificates (DER)")
        has(out, "MAC        SHA256, 2048 iterations")
        has(out, "cert enc   PBES2: PBKDF2 with hmacWithSHA256, 2048 iterations, AES-256-CBC")
        has(out, "key enc    PBES2:")
        has(out, "matches    certificate 1")
        has(out, "order      in order: each certificate is issued by the next")
        lacks(out .. err, PASSWORD)
        no_secret(out, path("leaf.key"))
    end
    local j = cjson.decode((inspect("--json --password-env CS_P12 " .. q(path("pw.p12")),
        "CS_P12=" .. q(PASSWORD))))
    assert(j.kind == "pkcs12" and #j.certificates == 2 and #j.keys == 1)
    assert(j.certificates[1].serial == c.leaf:serial())
    assert(j.certificates[2].serial == c.inter:serial())
    assert(j.keys[1].certificate == 1)
    assert(j.pkcs12.mac.digest == "SHA256")
    assert(j.pkcs12.certs_encryption.scheme == "PBES2")
    assert(j.pkcs12.key_encryption.kdf == "PBKDF2")
end)

t.case("PKCS#12 without a password: the empty one is tried", function()
    local out, err, status = inspect(q(path("open.p12")))
    assert(status == 0, err)
    has(out, ": PKCS#12: 1 key, 1 certificate (DER)")
end)

t.case("PKCS#12 with a wrong password or none: exit 2, a clear message", function()
    local out, err, status = inspect("--password-env CS_P12 " .. q(path("pw.p12")),
        "CS_P12=wrong")
    assert(status == 2 and out == "", status)
    has(err, path("pw.p12") .. ": wrong password or corrupt PKCS#12 (MAC check failed)")
    out, err, status = inspect(q(path("pw.p12")))
    assert(status == 2 and out == "")
    has(err, "wrong password (none given)")
    has(err, "--password-env VAR or --password-file FILE")
end)

t.case("no password on the command line", function()
    local out, err, status = inspect("--password " .. q(PASSWORD) .. " " .. q(path("pw.p12")))
    assert(status == 2 and out == "", status)
    has(err, "--password: secrets never go on the command line")
    has(err, "give --password-env VAR")
    lacks(err, PASSWORD)
    out, err, status = inspect("--password=" .. q(PASSWORD) .. " " .. q(path("pw.p12")))
    assert(status ~= 0)
    lacks(out .. err, PASSWORD)
end)

t.case("--password-env naming an unset variable", function()
    local _, err, status = inspect("--password-env CS_NO_SUCH_VAR " .. q(path("pw.p12")),
        "-u CS_NO_SUCH_VAR")
    assert(status == 2)
    has(err, "CS_NO_SUCH_VAR is not set")
end)

-- ---- CRLs: build_chain.lua's, after a revocation with revoke.lua ----

local SCRIPTS = here .. "../../scripts/"
local function script(name, args)
    local log = path("script.log")
    local ok = os.execute(("%s %s %s >%s 2>&1"):format(LUA, q(SCRIPTS .. name), args, q(log)))
    assert(ok, name .. " " .. args .. ":\n" .. (t.read_file(log) or ""))
end
local ch = path("ca") .. "/"
script("build_chain.lua", "--out " .. q(path("ca")))
script("build_chain.lua", "--out " .. q(path("twin"))) -- the same names, other keys
local revoked = t.sh("openssl x509 -noout -serial -in " .. q(ch .. "server.pem")):match("=(%x+)")
script("revoke.lua", "--out " .. q(path("ca")) .. " --serial " .. revoked
    .. " --reason keyCompromise")
local crl_der, crl_pem, inter_pem = ch .. "intermediate.crl", ch .. "intermediate.crl.pem",
    ch .. "intermediate.pem"
local function openssl_crl(args)
    return t.sh("openssl crl -inform DER -noout -in " .. q(crl_der) .. " " .. args)
end

t.case("CRL (DER) after a revocation: every row, as openssl reads it", function()
    local out, err, status = inspect(q(crl_der))
    assert(status == 0, err)
    has(out, crl_der .. ": certificate revocation list (CRL) (DER)")
    has(out, "issuer     C=SE, O=Simple Inc, OU=XYZ, CN=Simple Intermediate CA")
    has(out, "valid      " .. os.date("!%Y-%m-%d", now))
    -- one time format everywhere: RFC 3339 UTC (issue 10 §6)
    assert(out:find("valid      %d+%-%d+%-%d+T%d+:%d+:%d+Z to %d+%-%d+%-%d+T%d+:%d+:%d+Z "
        .. "%([67] days left%)\n"), out) -- 7 - run time
    has(out, "number     " .. tonumber(openssl_crl("-crlnumber"):match("=0x(%x+)"), 16))
    has(out, "signature  ecdsa-with-SHA384, not checked: no certificate of its issuer given")
    local ski = t.sh("openssl x509 -noout -ext subjectKeyIdentifier -in " .. q(inter_pem))
        :match("\n%s*([%x:]+)")
    has(out, "AKI        " .. ski)
    has(out, "revoked    1 certificate\n")
    assert(openssl_crl("-text"):find("Serial Number: " .. revoked, 1, true))
    local entry = ("\n             %s  %sT%%d%%d:%%d%%d:%%d%%dZ  keyCompromise\n")
        :format(revoked, (os.date("!%Y-%m-%d", now):gsub("%-", "%%-")))
    assert(out:find(entry), entry .. " in:\n" .. out)
end)

t.case("CRL (PEM) with its issuer's certificate as another FILE: verified", function()
    local out, err, status = inspect(q(crl_pem) .. " " .. q(inter_pem))
    assert(status == 0, err)
    has(out, crl_pem .. ": certificate revocation list (CRL) (PEM)")
    has(out, "signature  ecdsa-with-SHA384, verified with " .. inter_pem .. "\n")
    has(out, inter_pem .. ": certificate (PEM)")
    -- in a chain file, the issuer is named by its place
    out = inspect(q(crl_pem) .. " " .. q(ch .. "server-chain.pem"))
    has(out, "verified with " .. ch .. "server-chain.pem, certificate 2\n")
end)

t.case("CRL --json: the fields, PEM and DER alike", function()
    local out, err, status = inspect("--json " .. q(crl_der) .. " " .. q(inter_pem) .. " "
        .. q(crl_pem))
    assert(status == 0, err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = cjson.decode(line) end
    assert(#lines == 3)
    local j = lines[1]
    assert(j.kind == "crl" and j.format == "DER" and #j.crls == 1 and #j.certificates == 0)
    local l = j.crls[1]
    assert(l.issuer == "C=SE, O=Simple Inc, OU=XYZ, CN=Simple Intermediate CA", l.issuer)
    assert(l.version == 2 and l.number == 2 and l.status == "valid", l.status)
    assert(l.signature_algorithm == "ecdsa-with-SHA384")
    assert(l.next_update_unix - l.this_update_unix == 7 * 86400)
    assert(l.seconds_left > 6 * 86400 and l.seconds_left <= 7 * 86400, l.seconds_left)
    assert(l.this_update:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"), l.this_update)
    assert(l.time_left:match("days left$"), l.time_left)
    assert(l.authority_key_id == lines[2].certificates[1].subject_key_id)
    assert(l.revoked_count == 1 and l.revoked[1].serial == revoked)
    assert(l.revoked[1].reason == "keyCompromise" and l.revoked[1].reason_code == 1)
    assert(math.abs(l.revoked[1].revoked_at_unix - now) < 3600)
    assert(l.signature_verified == true and l.verify_error == cjson.null)
    assert(l.issuer_certificate.file == inter_pem and l.issuer_certificate.certificate == 1)
    local p = lines[3]
    assert(p.format == "PEM" and p.kind == "crl")
    p.file, j.file, p.format, j.format = nil, nil, nil, nil
    assert(cjson.encode(p) == cjson.encode(j), "PEM and DER differ")
    -- alone, nothing to check it with
    j = cjson.decode((inspect("--json " .. q(crl_der))))
    assert(j.crls[1].signature_verified == cjson.null)
    assert(j.crls[1].issuer_certificate == cjson.null)
end)

t.case("CRL and its issuer in one file: a bundle, verified", function()
    t.write_file(path("root-and-crl.pem"), t.read_file(ch .. "root.pem")
        .. t.read_file(ch .. "root.crl.pem") .. t.read_file(crl_pem))
    local out, err, status = inspect(q(path("root-and-crl.pem")))
    assert(status == 0, err)
    has(out, ": bundle: 1 certificate, 2 CRLs (PEM)")
    has(out, "  CRL 1\n    issuer     C=SE, O=Simple Inc, CN=Simple Root CA")
    has(out, "  CRL 2\n    issuer     C=SE, O=Simple Inc, OU=XYZ, CN=Simple Intermediate CA")
    has(out, "    signature  ecdsa-with-SHA384, verified with certificate 1\n")
    has(out, "    revoked    none")
    local j = cjson.decode((inspect("--json " .. q(path("root-and-crl.pem")))))
    assert(j.kind == "bundle" and #j.crls == 2 and #j.certificates == 1)
    assert(j.crls[1].signature_verified == true and j.crls[1].issuer_certificate.certificate == 1)
    assert(j.crls[2].signature_verified == cjson.null)
end)

t.case("CRL with another CA of the same name: DOES NOT verify", function()
    local twin = path("twin") .. "/intermediate.pem"
    local out, err, status = inspect(q(crl_der) .. " " .. q(twin))
    assert(status == 0, err)
    has(out, "signature  ecdsa-with-SHA384, DOES NOT verify with " .. twin .. " (")
    local j = cjson.decode(inspect("--json " .. q(crl_der) .. " " .. q(twin)):match("[^\n]+"))
    assert(j.crls[1].signature_verified == false)
    assert(type(j.crls[1].verify_error) == "string" and j.crls[1].verify_error ~= "")
    -- the right one given too: that one is used
    out = inspect(q(crl_der) .. " " .. q(twin) .. " " .. q(inter_pem))
    has(out, "verified with " .. inter_pem .. "\n")
end)

t.case("an expired CRL says so", function()
    local crl = assert(pki.sign_crl { issuer = c.inter, key = c.inter_key, number = 7,
        revoked = {}, this_update = now - 10 * 86400, next_update = now - 3 * 86400 - 3600 })
    assert(crl:save { pem = path("old.crl.pem") })
    local out, err, status = inspect(q(path("old.crl.pem")) .. " " .. q(path("inter.crt")))
    assert(status == 0, err)
    has(out, " (expired 3 days ago)")
    has(out, "number     7")
    has(out, "verified with " .. path("inter.crt"))
    local j = cjson.decode((inspect("--json " .. q(path("old.crl.pem")))))
    assert(j.crls[1].status == "expired" and j.crls[1].seconds_left < 0)
    assert(j.crls[1].time_left == "expired 3 days ago", j.crls[1].time_left)
end)

t.case("a v1 CRL from openssl ca: no number, no AKI, a reason left out", function()
    openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout v1ca.key"
        .. " -out v1ca.pem -subj /CN=Other\\ CA -days 10")
    t.write_file(path("v1ca.txt"), "")
    t.write_file(path("v1ca.cnf"), "[ca]\ndefault_ca = d\n[d]\ndatabase = v1ca.txt\n"
        .. "default_md = sha256\ndefault_crl_days = 1\n")
    openssl("ca -config v1ca.cnf -keyfile v1ca.key -cert v1ca.pem -revoke leaf.crt")
    openssl("ca -config v1ca.cnf -keyfile v1ca.key -cert v1ca.pem -gencrl -out v1.crl")
    local out, err, status = inspect(q(path("v1.crl")) .. " " .. q(path("v1ca.pem")))
    assert(status == 0, err)
    has(out, "issuer     CN=Other CA\n")
    has(out, "number     -\n")
    has(out, "AKI        -\n")
    has(out, "signature  ecdsa-with-SHA256, verified with " .. path("v1ca.pem") .. "\n")
    has(out, c.leaf:serial() .. "  ")
    has(out, "Z  unspecified\n")
    local l = cjson.decode((inspect("--json " .. q(path("v1.crl"))))).crls[1]
    assert(l.version == 1 and l.number == cjson.null and l.authority_key_id == cjson.null)
    assert(l.revoked[1].reason == "unspecified" and l.revoked[1].reason_code == 0)
end)

-- ---- bad input: exit 2, the file named, nothing on stdout ----

local pem = t.read_file(path("leaf.crt"))
t.write_file(path("bad.der"), "\x30\x82\x01\x00\x30\x82\x00\xf0garbage that is not DER")
t.write_file(path("cut.pem"), pem:sub(1, #pem // 2))
t.write_file(path("body.pem"), pem:gsub("\n[A-Za-z0-9+/]+\n", "\n!!!!\n", 1))
t.write_file(path("crl.pem"), "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
t.write_file(path("p7.pem"), "-----BEGIN PKCS7-----\nAAAA\n-----END PKCS7-----\n")
local crl_bytes = t.read_file(crl_der)
t.write_file(path("cut.crl"), crl_bytes:sub(1, #crl_bytes // 2))
t.write_file(path("empty"), "")
t.write_file(path("text.txt"), "hello, world\n")
t.write_file(path("cut.p12"), t.read_file(path("pw.p12")):sub(1, 300))
openssl("ecparam -name prime256v1 -out params.pem")
openssl("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -outform DER -out p521.der")

for _, case in ipairs{
    {"malformed DER", "bad.der", "not PEM, and no DER certificate, CRL, key or CSR parses"},
    {"truncated PEM", "cut.pem", "PEM block 'CERTIFICATE' has no END line"},
    {"PEM with a damaged body", "body.pem", "not a PEM or DER certificate"},
    {"unknown PEM label", "p7.pem", "unknown PEM label 'PKCS7'"},
    {"corrupt PEM CRL", "crl.pem", "not a PEM or DER CRL"},
    {"truncated DER CRL", "cut.crl", "no DER certificate, CRL, key or CSR parses"},
    {"empty file", "empty", "empty file"},
    {"text", "text.txt", "no DER certificate, CRL, key or CSR parses"},
    {"truncated PKCS#12", "cut.p12", "not a PKCS#12 file"},
    {"EC parameters alone", "params.pem", "only EC parameters, no key"},
    -- told by its code ("unsupported"), not by the message
    {"a DER key of a curve we refuse", "p521.der", "p521.der: unsupported curve 'secp521r1'"},
} do
    t.case("bad input: " .. case[1], function()
        local out, err, status = inspect(q(path(case[2])))
        assert(status == 2, "exit status " .. tostring(status))
        assert(out == "", out)
        local name = path(case[2])
        assert(err:sub(1, #name + 2) == name .. ": ", err)
        if case[2] ~= "cut.p12" then
            has(err, ": not a certificate, CRL, CSR, key or PKCS#12 (")
        end
        has(err, case[3])
    end)
end

t.case("a missing file is named", function()
    local _, err, status = inspect(q(path("nope.pem")))
    assert(status == 2)
    has(err, path("nope.pem") .. ": cannot read (No such file or directory)")
    local out
    out, err, status = inspect(q(dir))
    assert(status == 2 and out == "")
    has(err, dir .. ": not a regular file")
end)

t.case("several files: the good ones shown, exit 2 for the bad one", function()
    local out, err, status = inspect(q(path("leaf.crt")) .. " " .. q(path("bad.der")) .. " "
        .. q(path("ec.key")))
    assert(status == 2)
    has(out, path("leaf.crt") .. ": certificate")
    has(out, path("ec.key") .. ": private key")
    has(err, path("bad.der") .. ": not a certificate")
end)

t.cleanup()
t.done()
