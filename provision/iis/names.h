/* SPDX-License-Identifier: GPL-3.0-or-later */
/* IIS naming and binding rules (the IIS 10 schema's validation types,
 * tests/fixtures/IIS_schema.server2016.xml: applicationPoolName, siteName;
 * bindingInformation as the IIS configuration reference for <binding>
 * describes it), as pure checks. Each
 * returns NULL when the value is valid, or a static sentence saying why not. */
#ifndef PROVISION_IIS_NAMES_H
#define PROVISION_IIS_NAMES_H

#include <stdbool.h>
#include <stdint.h>

const char *iis_check_pool_name(const char *name);
const char *iis_check_site_name(const char *name);

/* A binding as templates write it: PROTOCOL/IP:PORT:HOST with an optional
 * ";sni" suffix (https only). Example, for https on all addresses with SNI:
 *     https/(star):443:shop.example.com;sni      where (star) is "*" */
struct iis_binding {
    char protocol[8];      /* http | https */
    char information[300]; /* IP:PORT:HOST as IIS stores it */
    unsigned ssl_flags;    /* 0 none, 1 SNI */
};

/* Parses the template form. On error returns a static reason. */
const char *iis_parse_binding(const char *text, struct iis_binding *out);
/* Checks IIS's own form "IP:PORT:HOST" for protocol. */
const char *iis_check_binding_information(const char *protocol, const char *info,
                                          unsigned ssl_flags);
/* Key that two conflicting bindings share: protocol and information with the
 * host folded to lower case. Writes into buf (>= 320 bytes). */
void iis_binding_key(const char *protocol, const char *info, char *buf, unsigned len);

/* Timespan hh:mm:ss (optionally d.hh:mm:ss) as IIS writes it; returns seconds
 * or -1. */
long iis_parse_timespan(const char *s);

#endif
