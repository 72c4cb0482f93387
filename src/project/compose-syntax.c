/*
 * The two syntaxes compose has for ports and for volumes, read into
 * devwatch's ports and mounts.
 *
 * Ports: "[IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTO]", a number, or
 * {target, published, host_ip, protocol, app_protocol, mode, name}. A port
 * without a host port is published on a free one, as compose does (host 0
 * in devwatch), and ranges become one port each.
 *
 * Volumes: "SOURCE:TARGET[:OPTIONS]" (a source starting with '/', '.' or
 * '~' is a bind mount, anything else names a volume declared at the top
 * level, which compose calls <project>_<name> unless it is external or
 * named), or {type, source, target, read_only, bind, volume, tmpfs}.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "project/compose-int.h"

static void put_port(struct jnode *out, long host, long cont, const char *proto,
		     const char *ip, const struct jnode *at)
{
	const char *suffix = strcmp(proto, "tcp") == 0 ? "" : proto;
	char *s;

	if (strchr(ip, ':') != NULL) {
		struct jnode *o = jb_new(J_OBJECT, at);

		jb_put(o, "host", jb_num((double)host, at));
		jb_put(o, "container", jb_num((double)cont, at));
		jb_put(o, "protocol", jb_str(proto, at));
		jb_put(o, "host_ip", jb_str(ip, at));
		jb_put(out, NULL, o);
		return;
	}
	s = xasprintf("%s%s%ld:%ld%s%s", ip, ip[0] != '\0' ? ":" : "", host, cont,
		      suffix[0] != '\0' ? "/" : "", suffix);
	jb_put(out, NULL, jb_str(s, at));
	free(s);
}

/* "80" or "8000-8005" (n bytes of s); an empty host part is 0. */
static int range(const char *s, size_t n, bool may_be_empty, long *lo, long *hi)
{
	char buf[32], *dash, *end;

	if (n == 0 && may_be_empty) {
		*lo = *hi = 0;
		return 0;
	}
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	dash = strchr(buf, '-');
	*lo = strtol(buf, &end, 10);
	if (end == buf || (dash != NULL ? end != dash : *end != '\0'))
		return -1;
	*hi = *lo;
	if (dash != NULL) {
		*hi = strtol(dash + 1, &end, 10);
		if (end == dash + 1 || *end != '\0')
			return -1;
	}
	return *lo < 0 || *hi > 65535 || *hi < *lo ? -1 : 0;
}

static int port_short(struct cx *x, const struct jnode *v, struct jnode *out)
{
	char *s = xstrdup(v->str), *rest = s, *ip = "", *slash, *colon;
	const char *proto = "tcp";
	long hlo = 0, hhi = 0, clo, chi;
	int err = 0;

	if ((slash = strrchr(s, '/')) != NULL) {
		*slash = '\0';
		proto = slash + 1;
	}
	if (rest[0] == '[' && (colon = strstr(rest, "]:")) != NULL) {
		*colon = '\0';
		ip = rest + 1;
		rest = colon + 2;
	} else if ((colon = strchr(rest, ':')) != NULL && strchr(colon + 1, ':') != NULL) {
		*colon = '\0';
		ip = rest;
		rest = colon + 1;
	}
	colon = strchr(rest, ':');
	if (colon != NULL ? range(rest, (size_t)(colon - rest), true, &hlo, &hhi) != 0 ||
				    range(colon + 1, strlen(colon + 1), false, &clo, &chi) != 0
			  : range(rest, strlen(rest), false, &clo, &chi) != 0 || clo == 0) {
		err = cx_error(x, v, false, "port '%s': expected \"[IP:][HOST:]CONTAINER[/PROTOCOL]\" "
			       "with ports or ranges of ports", v->str);
	} else if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0) {
		err = cx_error(x, v, false, "port protocol '%s' is not supported yet; expected "
			       "tcp or udp", proto);
	} else if (hhi != hlo && chi == clo) {
		err = cx_error(x, v, false, "port '%s': a host port range for one container "
			       "port is not supported yet", v->str);
	} else if (hlo != 0 && hhi - hlo != chi - clo) {
		err = cx_error(x, v, false, "port '%s': the host and container ranges differ "
			       "in length", v->str);
	} else {
		for (long c = clo; c <= chi; c++)
			put_port(out, hlo != 0 ? hlo + (c - clo) : 0, c, proto, ip, v);
	}
	free(s);
	return err;
}

static int port_long(struct cx *x, const struct jnode *v, struct jnode *out)
{
	static const char *const keys[] = {"name", "mode", "host_ip", "target",
					   "published", "protocol", "app_protocol", NULL};
	const struct jnode *k;
	const char *proto = "tcp", *ip = "";
	long target, host = 0, hhi = 0;
	int err;

	if ((err = cx_keys(x, v, keys, "a port")) != 0)
		return err;
	if ((k = json_get(v, "target")) == NULL)
		return cx_error(x, v, false, "port: missing key 'target'; expected the container's port");
	if ((err = cx_int(x, k, "target", 1, 65535, &target)) != 0)
		return err;
	if ((k = json_get(v, "published")) != NULL &&
	    (k->type == J_NUMBER ? cx_int(x, k, "published", 0, 65535, &host) != 0
				 : k->type != J_STRING || range(k->str, strlen(k->str), true,
								&host, &hhi) != 0))
		return cx_error(x, k, false, "'published' is '%s'; expected a host port",
				k->str != NULL ? k->str : "");
	if (hhi != host && k->type == J_STRING)
		return cx_error(x, k, false, "a 'published' range for one target port is not "
				"supported yet");
	if ((k = json_get(v, "host_ip")) != NULL) {
		if (k->type != J_STRING)
			return cx_error(x, k, false, "'host_ip' is not a string; expected an address");
		ip = k->str;
	}
	if ((k = json_get(v, "protocol")) != NULL) {
		if (k->type != J_STRING || (strcmp(k->str, "tcp") && strcmp(k->str, "udp")))
			return cx_error(x, k, false, "port protocol '%s' is not supported yet; "
					"expected tcp or udp", k->str != NULL ? k->str : "");
		proto = k->str;
	}
	if ((k = json_get(v, "mode")) != NULL &&
	    (k->type != J_STRING || (strcmp(k->str, "host") && strcmp(k->str, "ingress"))))
		return cx_error(x, k, false, "port mode: expected host or ingress");
	/* devwatch prints http:// URLs for a port it knows speaks HTTP. */
	if ((k = json_get(v, "app_protocol")) != NULL && k->type == J_STRING &&
	    strcmp(k->str, "http") == 0 && strcmp(proto, "tcp") == 0)
		proto = "http";
	put_port(out, host, target, proto, ip, v);
	return 0;
}

int compose_ports(struct cx *x, const struct jnode *v, struct jnode **out)
{
	struct jnode *a = jb_new(J_ARRAY, v);
	int err = 0;

	if (v->type != J_ARRAY)
		err = cx_error(x, v, false, "'ports' is not a list; expected a list of ports");
	for (size_t i = 0; err == 0 && i < v->n; i++) {
		const struct jnode *p = &v->kids[i];

		if (p->type == J_NUMBER) {
			long c;

			if ((err = cx_int(x, p, "port", 1, 65535, &c)) == 0)
				put_port(a, 0, c, "tcp", "", p);
		} else if (p->type == J_STRING) {
			err = port_short(x, p, a);
		} else if (p->type == J_OBJECT) {
			err = port_long(x, p, a);
		} else {
			err = cx_error(x, p, false, "a port is %s; expected \"8080:80\", 80 or a "
				       "mapping with 'target'", p->type == J_NULL ? "empty" : "a list");
		}
	}
	if (err != 0) {
		json_free(a);
		return err;
	}
	*out = a;
	return 0;
}

static struct jnode *mount(const char *type, const char *src, const char *dst,
			   bool ro, const struct jnode *at)
{
	struct jnode *m = jb_new(J_OBJECT, at);

	jb_put(m, "type", jb_str(type, at));
	if (src != NULL)
		jb_put(m, "source", jb_str(src, at));
	jb_put(m, "target", jb_str(dst, at));
	if (ro)
		jb_put(m, "readonly", jb_bool(true, at));
	return m;
}

/* The engine's name of a volume the service names. */
static int volume_name(struct cx *x, const struct jnode *at, const char *name,
		       char **out)
{
	const struct jnode *d = x->volumes != NULL ? json_get(x->volumes, name) : NULL;
	const struct jnode *ext, *nm;
	bool external = false;
	int err;

	if (d == NULL)
		return cx_error(x, at, false, "service '%s' refers to undefined volume '%s'; "
				"expected it under the top-level 'volumes'", x->svc, name);
	ext = json_get(d, "external");
	nm = json_get(d, "name");
	if (ext != NULL && (err = cx_bool(x, ext, "external", &external)) != 0)
		return err;
	if (nm != NULL)
		return cx_string(x, nm, "name", out);
	*out = external ? xstrdup(name) : xasprintf("%s_%s", x->project, name);
	return 0;
}

static char *bind_source(const char *src)
{
	const char *home = getenv("HOME");

	if (src[0] == '~' && (src[1] == '/' || src[1] == '\0') && home != NULL)
		return xasprintf("%s%s", home, src + 1);
	return xstrdup(src);
}

static int volume_short(struct cx *x, const struct jnode *v, struct jnode *out)
{
	char *s = xstrdup(v->str), *dst = strchr(s, ':'), *opts = NULL, *src = NULL;
	bool ro = false;
	int err = 0;

	if (dst == NULL) {
		free(s);
		return cx_error(x, v, false, "an anonymous volume ('%s') is not supported yet; "
				"expected \"SOURCE:TARGET\"", v->str);
	}
	*dst++ = '\0';
	if ((opts = strchr(dst, ':')) != NULL)
		*opts++ = '\0';
	if (s[0] == '\0' || dst[0] == '\0') {
		free(s);
		return cx_error(x, v, false, "volume '%s': expected \"SOURCE:TARGET[:OPTIONS]\"",
				v->str);
	}
	for (char *o = opts, *next; err == 0 && o != NULL && *o != '\0'; o = next) {
		next = strchr(o, ',');
		if (next != NULL)
			*next++ = '\0';
		if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0)
			ro = strcmp(o, "ro") == 0;
		else if (strcmp(o, "cached") && strcmp(o, "delegated") && strcmp(o, "consistent"))
			err = cx_error(x, v, false, "volume option '%s' is not supported yet; "
				       "expected ro or rw", o);
	}
	if (err == 0 && (s[0] == '/' || s[0] == '.' || s[0] == '~')) {
		src = bind_source(s);
		jb_put(out, NULL, mount("bind", src, dst, ro, v));
	} else if (err == 0 && (err = volume_name(x, v, s, &src)) == 0) {
		jb_put(out, NULL, mount("volume", src, dst, ro, v));
	}
	free(src);
	free(s);
	return err;
}

static int volume_long(struct cx *x, const struct jnode *v, struct jnode *out)
{
	static const char *const keys[] = {"type", "source", "target", "read_only",
					   "consistency", "bind", "volume", "tmpfs", NULL};
	static const char *const bind_keys[] = {"propagation", "create_host_path",
						"recursive", "selinux", NULL};
	const struct jnode *t = json_get(v, "type"), *k;
	char *src = NULL, *dst = NULL;
	bool ro = false;
	int err;

	if ((err = cx_keys(x, v, keys, "a volume")) != 0)
		return err;
	if (t == NULL || t->type != J_STRING)
		return cx_error(x, t != NULL ? t : v, false, "volume: expected 'type' bind, "
				"volume or tmpfs");
	if (strcmp(t->str, "bind") && strcmp(t->str, "volume") && strcmp(t->str, "tmpfs"))
		return cx_error(x, t, false, "volume type '%s' is not supported yet; expected "
				"bind, volume or tmpfs", t->str);
	if ((k = json_get(v, "bind")) != NULL) {
		if (k->type != J_OBJECT || (err = cx_keys(x, k, bind_keys, "bind")) != 0)
			return err != 0 ? err : cx_error(x, k, false, "'bind' is not a mapping");
		for (size_t i = 0; i < k->n; i++)
			if (strcmp(k->kids[i].key, "create_host_path") != 0 &&
			    !str_starts(k->kids[i].key, "x-"))
				return cx_unsupported(x, &k->kids[i], NULL);
	}
	if ((k = json_get(v, "volume")) != NULL && !(k->type == J_OBJECT && k->n == 0))
		return cx_unsupported(x, k, NULL);
	if ((k = json_get(v, "tmpfs")) != NULL && !(k->type == J_OBJECT && k->n == 0))
		return cx_unsupported(x, k, NULL);
	if ((k = json_get(v, "read_only")) != NULL && (err = cx_bool(x, k, "read_only", &ro)))
		return err;
	if ((k = json_get(v, "target")) == NULL)
		return cx_error(x, v, false, "volume: missing key 'target'; expected an absolute path");
	if ((err = cx_string(x, k, "target", &dst)) != 0)
		return err;
	k = json_get(v, "source");
	if (k != NULL && (err = cx_string(x, k, "source", &src)) != 0)
		goto out;
	if (strcmp(t->str, "tmpfs") == 0) {
		jb_put(out, NULL, mount("tmpfs", NULL, dst, ro, v));
	} else if (src == NULL) {
		err = cx_error(x, v, false, "a %s without 'source' is not supported yet; "
			       "expected a source", t->str);
	} else if (strcmp(t->str, "bind") == 0) {
		char *b = bind_source(src);

		jb_put(out, NULL, mount("bind", b, dst, ro, v));
		free(b);
	} else {
		char *name = NULL;

		if ((err = volume_name(x, k, src, &name)) == 0)
			jb_put(out, NULL, mount("volume", name, dst, ro, v));
		free(name);
	}
out:
	free(src);
	free(dst);
	return err;
}

int compose_volumes(struct cx *x, const struct jnode *v, bool tmpfs,
		    struct jnode **out)
{
	struct jnode *a = *out != NULL ? *out : jb_new(J_ARRAY, v);
	struct strlist paths = {0};
	int err = 0;

	if (tmpfs)
		err = cx_strings(x, v, "tmpfs", &paths);
	else if (v->type != J_ARRAY)
		err = cx_error(x, v, false, "'volumes' is not a list; expected a list of volumes");
	for (size_t i = 0; err == 0 && i < paths.n; i++) {
		if (strchr(paths.v[i], ':') != NULL)
			err = cx_error(x, v, false, "tmpfs options ('%s') are not supported yet",
				       paths.v[i]);
		else
			jb_put(a, NULL, mount("tmpfs", NULL, paths.v[i], false, v));
	}
	for (size_t i = 0; err == 0 && !tmpfs && i < v->n; i++) {
		const struct jnode *m = &v->kids[i];

		if (m->type == J_STRING)
			err = volume_short(x, m, a);
		else if (m->type == J_OBJECT)
			err = volume_long(x, m, a);
		else
			err = cx_error(x, m, false, "a volume is %s; expected \"SOURCE:TARGET\" or "
				       "a mapping with 'type'", m->type == J_NULL ? "empty" : "a list");
	}
	strlist_release(&paths);
	if (err != 0) {
		if (*out == NULL)
			json_free(a);
		return err;
	}
	*out = a;
	return 0;
}
