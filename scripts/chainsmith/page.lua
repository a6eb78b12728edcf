-- The hello page: www/index.html with the served chain filled in.
local summary = require "chainsmith.summary"

local page = {}

local function escape(s)
    return (tostring(s):gsub("[&<>\"']", {
        ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;",
    }))
end

local function cert_table(role, info)
    local rows = {
        { "Subject", info.subject_line },
        { "Issuer", info.issuer_line },
        { "Valid", ("%s to %s"):format(summary.date(info.not_before),
            summary.date(info.not_after)) },
        { "Key", ("%s, signed with %s"):format(summary.key(info), info.signature_algorithm) },
        { "Names", summary.sans(info) },
        { "Serial", info.serial },
        { "SHA-256", summary.fingerprint(info.fingerprint) },
    }
    local out = { ("<table>\n<caption>%s</caption>"):format(escape(role)) }
    for _, row in ipairs(rows) do
        local value = row[1] == "SHA-256" and ("<code>%s</code>"):format(escape(row[2]))
            or escape(row[2])
        out[#out + 1] = ("<tr><th>%s</th><td>%s</td></tr>"):format(row[1], value)
    end
    out[#out + 1] = "</table>"
    return table.concat(out, "\n")
end

-- template: the text of index.html; served: {leaf, intermediate, ...};
-- root: the root certificate. Returns the HTML.
function page.render(template, served, root)
    local tables = {}
    for i, cert in ipairs(served) do
        local role = i == 1 and "Server certificate (leaf)" or "Intermediate CA"
        tables[#tables + 1] = cert_table(role, cert:info())
    end
    tables[#tables + 1] = cert_table("Root CA (not sent: your client must already trust it)",
        root:info())
    local rinfo = root:info()
    local values = {
        chain = table.concat(tables, "\n"),
        root_subject = escape(rinfo.subject_line),
        root_fingerprint = escape(summary.fingerprint(rinfo.fingerprint)),
    }
    return (template:gsub("{{([%w_]+)}}", function(name)
        return values[name]
    end))
end

return page
