-- The hello page: www/index.html with the served chain filled in.
local summary = require "chainsmith.summary"

local page = {}

-- Where the server writes, per request, who the TLS client is (the route's
-- client_marker): the template keeps it, render leaves it in.
page.client_marker = "{{client}}"

-- Braces too: a certificate field must not be able to place a marker.
local function escape(s)
    return (tostring(s):gsub("[&<>\"'{}]", {
        ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;",
        ["{"] = "&#123;", ["}"] = "&#125;",
    }))
end

-- summary.rows' labels, as the page shows them.
local labels = { subject = "Subject", issuer = "Issuer", valid = "Valid", key = "Key",
    SANs = "Names", serial = "Serial", ["SHA-256"] = "SHA-256" }

local function cert_table(role, info)
    local out = { ("<table>\n<caption>%s</caption>"):format(escape(role)) }
    for _, row in ipairs(summary.rows(info)) do
        local value = row[1] == "SHA-256" and ("<code>%s</code>"):format(escape(row[2]))
            or escape(row[2])
        out[#out + 1] = ("<tr><th>%s</th><td>%s</td></tr>"):format(labels[row[1]], value)
    end
    out[#out + 1] = "</table>"
    return table.concat(out, "\n")
end

-- The server's address as a browser reaches it: https://localhost:PORT/ on
-- a loopback address (the certificate's name), the address itself otherwise.
function page.url(host, port)
    if host == "127.0.0.1" or host == "::1" or host == "localhost" or host:match("^127%.") then
        host = "localhost"
    elseif host:find(":", 1, true) then
        host = "[" .. host .. "]"
    end
    return ("https://%s:%d/"):format(host, port)
end

-- template: the text of index.html; served: {leaf, intermediate, ...};
-- root: the root certificate; url: page.url's (nil before the server is
-- bound). Returns the HTML, page.client_marker still in it.
function page.render(template, served, root, url)
    local tables = {}
    for i, cert in ipairs(served) do
        local role = i == 1 and "Server certificate (leaf)" or "Intermediate CA"
        tables[#tables + 1] = cert_table(role, cert:info())
    end
    local rinfo = root:info()
    tables[#tables + 1] = cert_table("Root CA (not sent: your client must already trust it)",
        rinfo)
    local values = {
        chain = table.concat(tables, "\n"),
        root_subject = escape(rinfo.subject_line),
        root_fingerprint = escape(summary.fingerprint(rinfo.fingerprint)),
        client = page.client_marker,
        url = escape(url or "https://localhost/"),
    }
    return (template:gsub("{{([%w_]+)}}", function(name)
        return values[name]
    end))
end

return page
