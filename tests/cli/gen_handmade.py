#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
# Writes an applicationHost.config with N sites made "by hand" (as IIS
# Manager and appcmd leave them), on the base of a real one, for the import
# tests. Ten shapes, by site number modulo 10:
#   0  pool without processModel, no location of its own (server-wide IUSR)
#   1  NetworkService, idleTimeout 00:10:00, own location: the pool identity
#   2  No Managed Code, Classic, own location: IUSR; http and https with SNI
#   3  shares the pool of the site before it
#   4  an extra application /api (its own pool) and a virtual directory /img
#   5  AlwaysRunning, pool autoStart false, serverAutoStart false
#   6  LocalSystem, loadUserProfile true
#   7  the root connects as a specific user (import leaves it out)
#   8  anonymous requests as a domain user (import leaves it out)
#   9  a SpecificUser pool (import needs [directory] for it: left out here)
# Usage: gen_handmade.py BASE_CONFIG OUT N
import sys

base, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(base, encoding="utf-8-sig").read()
pools, sites, locations = [], [], []
for i in range(n):
    name = "hand%04d.example.com" % i
    shape = i % 10
    pool = "pool%04d" % i
    path = "D:\\Sites\\%s\\wwwroot" % name
    if shape == 3:
        pool = "pool%04d" % (i - 1)
    elif shape == 0:
        pools.append('<add name="%s" />' % pool)
    elif shape == 1:
        pools.append('<add name="%s">\n                <processModel identityType="NetworkService" idleTimeout="00:10:00" />\n            </add>' % pool)
    elif shape == 2:
        pools.append('<add name="%s" managedRuntimeVersion="" managedPipelineMode="Classic" />' % pool)
    elif shape == 5:
        pools.append('<add name="%s" startMode="AlwaysRunning" autoStart="false" />' % pool)
    elif shape == 6:
        pools.append('<add name="%s">\n                <processModel identityType="LocalSystem" loadUserProfile="true" />\n            </add>' % pool)
    elif shape == 9:
        pools.append('<add name="%s">\n                <processModel identityType="SpecificUser" userName="LAB\\svc%04d" password="x" />\n            </add>' % (pool, i))
    else:
        pools.append('<add name="%s" />' % pool)
    bindings = '<binding protocol="http" bindingInformation="*:80:%s" />' % name
    if shape == 2:
        bindings += '\n                    <binding protocol="https" bindingInformation="*:443:%s" sslFlags="1" />' % name
    vdir_user = ' userName="LAB\\content"' if shape == 7 else ""
    extra = ""
    if shape == 4:
        pools.append('<add name="%s-api" />' % pool)
        extra = ('\n                    <virtualDirectory path="/img" physicalPath="D:\\Images\\%s" />' % name +
                 '\n                </application>\n                <application path="/api" applicationPool="%s-api">' % pool +
                 '\n                    <virtualDirectory path="/" physicalPath="D:\\Api\\%s" />' % name)
    auto = ' serverAutoStart="false"' if shape == 5 else ""
    sites.append(
        '<site name="%s" id="%d"%s>\n'
        '                <application path="/" applicationPool="%s">\n'
        '                    <virtualDirectory path="/" physicalPath="%s"%s />%s\n'
        '                </application>\n'
        '                <bindings>\n'
        '                    %s\n'
        '                </bindings>\n'
        '            </site>' % (name, 100 + i, auto, pool, path, vdir_user, extra, bindings))
    anon = {1: "", 2: "IUSR", 8: "LAB\\anon"}.get(shape)
    if anon is not None:
        locations.append(
            '    <location path="%s">\n'
            '        <system.webServer>\n'
            '            <security>\n'
            '                <authentication>\n'
            '                    <anonymousAuthentication userName="%s" />\n'
            '                </authentication>\n'
            '            </security>\n'
            '        </system.webServer>\n'
            '    </location>\n' % (name, anon))
sep = "\n            "
text = text.replace("            <applicationPoolDefaults", "            " + sep.join(pools) + "\n            <applicationPoolDefaults", 1)
text = text.replace("            <siteDefaults>", "            " + sep.join(sites) + "\n            <siteDefaults>", 1)
text = text.replace("</configuration>", "".join(locations) + "</configuration>", 1)
open(out, "w", encoding="utf-8", newline="\r\n" if "\r\n" in open(base, encoding="utf-8-sig", newline="").read() else "\n").write(text)
