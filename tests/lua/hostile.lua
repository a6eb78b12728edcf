-- Hostile certificates and CSRs for tests: bytes no well-behaved tool
-- writes (a NUL inside a name, ESC in a CN, BER lengths), signed for real.
-- A DER certificate or CSR is SEQUENCE { tbs, algorithm, BIT STRING sig }:
-- patch the tbs, sign it again with openssl, put the three back together.
local M = {}

local function quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Header of the TLV at pos: tag, length, where the contents start.
local function header(der, pos)
    local len, at = der:byte(pos + 1), pos + 2
    if len >= 0x80 then
        local n = len - 0x80
        len = 0
        for i = 0, n - 1 do
            len = len * 256 + der:byte(at + i)
        end
        at = at + n
    end
    return der:byte(pos), len, at
end

-- DER length octets for n.
function M.length(n)
    if n < 0x80 then
        return string.char(n)
    end
    local bytes = ""
    while n > 0 do
        bytes = string.char(n % 256) .. bytes
        n = n // 256
    end
    return string.char(0x80 + #bytes) .. bytes
end

function M.tlv(tag, contents)
    return string.char(tag) .. M.length(#contents) .. contents
end

-- The tbs and algorithm TLVs of a signed DER object.
function M.split(der)
    local _, _, body = header(der, 1)
    local _, tlen, tat = header(der, body)
    local tbs = der:sub(body, tat + tlen - 1)
    local _, alen, aat = header(der, tat + tlen)
    return tbs, der:sub(tat + tlen, aat + alen - 1)
end

-- der with tbs replaced by tbs (its algorithm kept), signed with the key
-- in keyfile (PEM) by openssl over SHA-256.
function M.resign(der, tbs, keyfile, dir)
    local _, alg = M.split(der)
    local tin, sig = dir .. "/tbs.der", dir .. "/sig.der"
    local f = assert(io.open(tin, "wb"))
    f:write(tbs)
    f:close()
    assert(os.execute(("env -u LD_PRELOAD openssl dgst -sha256 -sign %s -out %s %s")
        :format(quote(keyfile), quote(sig), quote(tin))))
    f = assert(io.open(sig, "rb"))
    local s = f:read("a")
    f:close()
    return M.tlv(0x30, tbs .. alg .. M.tlv(0x03, "\0" .. s))
end

-- der with the first `from` in its tbs replaced by `to` (same length, so
-- no length changes), signed again.
function M.patch(der, from, to, keyfile, dir)
    assert(#from == #to, "same length only")
    local tbs = M.split(der)
    local at = assert(tbs:find(from, 1, true), "not in the tbs: " .. from)
    tbs = tbs:sub(1, at - 1) .. to .. tbs:sub(at + #from)
    return M.resign(der, tbs, keyfile, dir)
end

-- The outer SEQUENCE of der in BER's indefinite-length form.
function M.indefinite(der)
    local _, len, at = header(der, 1)
    return "\x30\x80" .. der:sub(at, at + len - 1) .. "\0\0"
end

return M
