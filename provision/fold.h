/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Names that are one name on Windows (REFERENCE.md §9): the one rule for
 * comparing site, pool and location names and folder paths.
 *
 * IIS compares site and pool names, and NTFS file names, by simple
 * upper-casing (NTFS with the volume's $UpCase table: "ß" and "SS" stay
 * different); the IIS AppPool SID hashes the simple lower-cased name. The
 * two mappings disagree on a few characters: KELVIN SIGN U+212A upper-cases
 * to itself but lower-cases to "k", final sigma U+03C2 lower-cases to
 * itself but upper-cases to U+03A3 like U+03C3. So two names collide when
 * they are equal under the simple upper-case mapping OR under the simple
 * lower-case mapping (UnicodeData.txt fields 12 and 13; tables shipped as
 * generated C, provision/fold_tables.c and fold_assigned.c, never the locale).
 *
 * That relation is not transitive (U+0130 and U+0131 do not collide, yet
 * both collide with "I"/"i"), so it cannot be a map key. The key used here
 * is its transitive closure: each code point stands for its case class, the
 * connected component of the graph with edges c - upper(c) and
 * c - lower(c), written as the class's smallest code point. Two names
 * collide under the rule => their keys are equal (the mappings work code
 * point by code point, and each pair they equate is in one class). The
 * converse is wider than the rule in two ways only: members of a class
 * linked through a third one (in Unicode 15.0 U+0130 and U+0131 through
 * I/i, U+03D1 and U+03F4 through U+0398/U+03B8), and names where some
 * characters agree upper-cased and others only lower-cased (U+212A U+03C3
 * and K U+03C2). Treating such names as one refuses a pair Windows might
 * keep apart, never accepts a pair it would mix up: the safe side for a
 * tool that must not give two tenants one pool SID or one folder. It is
 * also the only choice that is an equivalence (a map key) and contains
 * the rule.
 *
 * A character the tables do not know (a code point unassigned in the
 * shipped Unicode version) might gain a case mapping in a later version,
 * on a Windows host with newer tables: names holding one are refused
 * (name_is_known), as is invalid UTF-8. Comparisons themselves are total:
 * names_collide and the hash also take such names (as read from an existing
 * configuration), comparing unknown code points and invalid bytes as they
 * are. Pure functions: no locale, no global state. */
#ifndef PROVISION_FOLD_H
#define PROVISION_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The Unicode version of the shipped tables ("15.0.0"). */
const char *fold_unicode_version_text(void);

/* The simple case mappings of one code point (itself when it has none). */
uint32_t fold_simple_upper(uint32_t c);
uint32_t fold_simple_lower(uint32_t c);
/* The representative of c's case class: its smallest member (c itself
 * when c is alone). */
uint32_t fold_class(uint32_t c);
/* True when c is an assigned code point in the shipped version (private
 * use included; surrogates and noncharacters not). */
bool fold_assigned(uint32_t c);

/* Room for a reason from name_is_known / name_fold_key, NUL included. */
#define NAME_WHY_MAX 112

/* True when every character of the NUL-terminated name is valid UTF-8 (no
 * overlong forms, surrogates or values above U+10FFFF) and assigned in the
 * shipped tables. Otherwise false and, when why is not NULL, a reason naming
 * the first bad character, e.g. "U+0378 (byte 4) is not a character of
 * Unicode 15.0.0" or "invalid UTF-8 at byte 4". */
bool name_is_known(const char *name, char *why);

/* The canonical key of a known name: each character replaced by its case
 * class representative (fold_class), in UTF-8. Two known names collide
 * exactly when their keys are equal. Returns 0 and *key (caller frees), or
 * -1 with *key NULL and the reason in why (as name_is_known) when the name
 * is not known. */
int name_fold_key(const char *name, char **key, char *why);

/* True when IIS, NTFS or the AppPool SID could take a and b for one name:
 * equal keys. Total: names not known compare their unknown code points and
 * invalid bytes as they are. */
/* Why two names that collide are refused, for messages. */
#define NAMES_COLLIDE_WHY "IIS and NTFS treat names equal without regard to case"
bool names_collide(const char *a, const char *b);
/* A hash of the key (equal for colliding names), for hash maps. */
uint64_t name_fold_hash(const char *name);
/* True when s starts with prefix under the same rule; *len (if not NULL)
 * is then the number of bytes of s that the prefix covers (folded forms
 * may differ in length: U+212A is 3 bytes, "k" one). */
bool name_fold_prefix(const char *s, const char *prefix, size_t *len);
/* True when the Windows path is the folder root or lies in it, as NTFS
 * compares names (root's trailing '\\' ignored); *len is then the number
 * of bytes of path that root covers: path[*len] is '\0' or '\\'. The one
 * "is it under [content] root" rule (folders, the access guard, check). */
bool name_path_within(const char *path, const char *root, size_t *len);

#endif
