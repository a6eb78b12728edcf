-- pki.normalize_name, pki.ip_in_cidr, cert:permits and pki.name_constraints_permit
-- (checked against openssl verify).
package.path = (arg[0]:match("(.-)[^/]*$") or "") .. "?.lua;" .. package.path
local pki = require "pki"
local t = require "testlib"

local dir = t.tmpdir()
local WILD = {wildcard = true}

-- normalized forms
for _, c in ipairs{
    {"dns", "bücher.test", "xn--bcher-kva.test"},
    {"dns", "WWW.Bücher.Test", "www.xn--bcher-kva.test"},
    {"dns", "xn--bcher-kva.test", "xn--bcher-kva.test"},
    {"dns", "Localhost", "localhost"},
    {"dns", "*.a.test", "*.a.test", WILD},
    {"dns", "*.bücher.test", "*.xn--bcher-kva.test", WILD},
    {"ip", "127.0.0.1", "127.0.0.1"},
    {"ip", "0000:0000::0001", "::1"},
    {"ip", "2001:DB8::A", "2001:db8::a"},
    {"email", "Ann@Bücher.test", "Ann@xn--bcher-kva.test"},
    {"uri", "HTTPS://a.test/Path", "https://a.test/Path"},
} do
    t.case(("normalize %s %s"):format(c[1], c[2]), function()
        local got, msg = pki.normalize_name(c[1], c[2], c[4])
        assert(got == c[3], ("got %s (%s), want %s"):format(tostring(got), tostring(msg), c[3]))
    end)
end

-- refused names: nil, a message naming the name and what is wrong, "invalid"
for _, c in ipairs{
    {"dns", "xn--bcher-kvb.test", "'xn%-%-bcher%-kvb%.test': label 'xn%-%-bcher%-kvb': A%-label"},
    {"dns", "a☃.test", "'a☃%.test': not a valid internationalized name"},
    {"dns", "bad_label.test", "label 'bad_label': only letters, digits and '%-'"},
    {"dns", "-a.test", "label '%-a': starts with '%-'"},
    {"dns", ("a"):rep(64) .. ".test", "longer than 63 octets"},
    {"dns", "a..test", "label '': empty"},
    {"dns", "*.a.test", "'%*%.a%.test': wildcards are not allowed here"},
    {"dns", "a*.test", "'a%*%.test': '%*' must be the whole left%-most label", WILD},
    {"dns", "*a.test", "'%*a%.test': '%*' must be the whole left%-most label", WILD},
    {"dns", "a.*.test", "'a%.%*%.test': '%*' may only be the left%-most label", WILD},
    {"dns", "*", "'%*': '%*' alone is not a name", WILD},
    {"dns", "*.test", "'%*%.test': a wildcard needs at least two labels", WILD},
    {"ip", "256.0.0.1", "IP address '256%.0%.0%.1': not an IPv4 or IPv6 address"},
    {"ip", "1::2::3", "'1::2::3'"},
    {"ip", "10.0.0.0/8", "a range, not one address"},
    {"email", "åsa@a.test", "non%-ASCII local part"},
    {"email", "no-at-sign", "needs local@domain"},
    {"uri", "a.test/x", "'a%.test/x': needs a scheme"},
    {"uri", "https://a.test/ä", "only printable ASCII"},
} do
    t.expect_fail(("refuse %s %s"):format(c[1], c[2]), "invalid", c[3], pki.normalize_name,
                  c[1], c[2], c[4])
end

t.expect_error("unknown type raises", "invalid option 'DNS'", pki.normalize_name, "DNS", "a")
t.expect_error("unknown option raises", "unknown option 'wildcards'", pki.normalize_name,
               "dns", "*.a.test", {wildcards = true})

-- CIDR
for _, c in ipairs{
    {"10.1.2.3", "10.0.0.0/8", true},
    {"11.0.0.1", "10.0.0.0/8", false},
    {"10.0.0.7", "10.0.0.7", true},
    {"2001:db8::1", "2001:db8::/32", true},
    {"2001:db9::1", "2001:db8::/32", false},
    {"::1", "0.0.0.0/0", false},
    {"127.0.0.1", "::/0", false},
} do
    t.case(("ip_in_cidr %s %s"):format(c[1], c[2]), function()
        local got, msg = pki.ip_in_cidr(c[1], c[2])
        assert(got == c[3], ("got %s (%s)"):format(tostring(got), tostring(msg)))
    end)
end
t.expect_fail("bad address", "invalid", "'10%.0%.0%.x'", pki.ip_in_cidr, "10.0.0.x", "10.0.0.0/8")
t.expect_fail("host bits set", "invalid", "'10%.0%.0%.1/8': host bits", pki.ip_in_cidr,
              "10.0.0.1", "10.0.0.1/8")
t.expect_fail("prefix too long", "invalid", "prefix length must be 0 to 128", pki.ip_in_cidr,
              "::1", "::/129")

-- cert:permits agrees with openssl verify on leaves signed for each name
do
    local root_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local root = assert(pki.sign(t.root_spec(), root_key))
    local ca_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    local spec = t.inter_spec()
    spec.name_constraints = {
        critical = true,
        permitted = {dns = {"test"}, ip = {"10.0.0.0/8"}, email = {"mail.test"}},
        excluded = {dns = {"bad.test"}},
    }
    local ca = assert(pki.sign(spec, ca_key, root, root_key))
    local leaf_key = assert(pki.generate_key{type = "ec", curve = "P-256"})
    assert(root:save(dir .. "/root.pem"))
    assert(ca:save(dir .. "/ca.pem"))
    for _, c in ipairs{
        {"dns", "test", true}, {"dns", "a.test", true}, {"dns", "*.a.test", true},
        {"dns", "bad.test", false}, {"dns", "x.bad.test", false}, {"dns", "xtest", false},
        {"dns", "a.example", false}, {"ip", "10.2.3.4", true}, {"ip", "192.0.2.1", false},
        {"ip", "2001:db8::1", false}, {"email", "u@mail.test", true},
        {"email", "u@x.mail.test", false}, {"uri", "https://anything.example/", true},
    } do
        t.case(("permits %s %s == openssl verify"):format(c[1], c[2]), function()
            local ok, msg = ca:permits(c[1], c[2])
            assert(ok == c[3], ("permits: %s (%s)"):format(tostring(ok), tostring(msg)))
            -- the profile's lists as data, before any CA carries them
            ok, msg = pki.name_constraints_permit(spec.name_constraints, c[1], c[2])
            assert(ok == c[3], ("as data: %s (%s)"):format(tostring(ok), tostring(msg)))
            local leaf_spec = {
                subject = {{"O", "Name Test"}},
                validity_days = 1,
                basic_constraints = {critical = true, ca = false},
                key_usage = {critical = true, "digitalSignature"},
                subject_alt_name = {[c[1]] = {c[2]}},
                extended_key_usage = {"clientAuth"},
                authority_key_id = true,
            }
            local leaf = assert(pki.sign(leaf_spec, leaf_key, ca, ca_key))
            assert(leaf:save(dir .. "/leaf.pem", {overwrite = true}))
            local verified = os.execute(("env -u LD_PRELOAD openssl verify -CAfile %s "
                                         .. "-untrusted %s %s >/dev/null 2>&1")
                                        :format(t.quote(dir .. "/root.pem"),
                                                t.quote(dir .. "/ca.pem"),
                                                t.quote(dir .. "/leaf.pem")))
            assert((verified == true) == c[3], "openssl verify disagrees")
        end)
    end
    t.case("no nameConstraints permits everything", function()
        assert(root:permits("dns", "anything.example") == true)
    end)
    t.expect_fail("permits: not a name", "invalid", "'10%.0%.0%.300'", ca.permits, ca, "ip",
                  "10.0.0.300")
    t.expect_error("permits: unknown type raises", "invalid option 'dn'", ca.permits, ca, "dn",
                   "a.test")
    -- the lists as data: what cert:info() gives back reads the same way
    t.case("name_constraints_permit reads cert:info()'s table", function()
        local nc = ca:info().name_constraints
        assert(pki.name_constraints_permit(nc, "dns", "a.test") == true)
        assert(pki.name_constraints_permit(nc, "dns", "x.bad.test") == false)
        assert(pki.name_constraints_permit(nc) == true)
    end)
    t.case("name_constraints_permit: no subtrees permit every name", function()
        assert(pki.name_constraints_permit({}, "dns", "anything.example") == true)
    end)
    local nc = spec.name_constraints
    t.expect_fail("name_constraints_permit: not a name", "invalid", "'10%.0%.0%.300'",
                  pki.name_constraints_permit, nc, "ip", "10.0.0.300")
    t.expect_fail("name_constraints_permit: a NUL in the name", "invalid",
                  "'a%.test\\x00%.evil'", pki.name_constraints_permit, nc, "dns",
                  "a.test\0.evil")
    t.expect_fail("name_constraints_permit: a range with host bits", "invalid",
                  "range %(use a CIDR such as 10%.0%.0%.0/8%) '10%.0%.0%.1'",
                  pki.name_constraints_permit, {permitted = {ip = {"10.0.0.1"}}})
    t.expect_fail("name_constraints_permit: an unknown field", "invalid",
                  "name_constraints: unknown field 'permited'", pki.name_constraints_permit,
                  {permited = {dns = {"test"}}}, "dns", "a.test")
    t.expect_fail("name_constraints_permit: a subtree not a string", "invalid",
                  "name_constraints%.excluded%.dns%[1%]: expected string, got number",
                  pki.name_constraints_permit, {excluded = {dns = {1}}}, "dns", "a.test")
    t.expect_error("name_constraints_permit: no table raises", "table expected, got string",
                   pki.name_constraints_permit, "test", "dns", "a.test")
    t.expect_error("name_constraints_permit: a type without a name raises",
                   "string expected, got no value", pki.name_constraints_permit, nc, "dns")
end

t.cleanup()
t.done()
