/* ward node (the daemon) and ward init (a new node directory). */
#include "cmd_node.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "driver.h"
#include "error.h"
#include "keyfile.h"
#include "policy.h"
#include "rng.h"
#include "roster.h"

int ward_cmd_node(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[0], "--config") != 0) {
        fprintf(stderr, "ward: error: usage: ward node --config DIR/node.conf\n");
        return 2;
    }
    char msg[1024];
    ward_driver *d = NULL;
    int rc = ward_driver_new(&d, msg, sizeof msg, argv[1]);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: %s\n", msg[0] ? msg : ward_strerror(rc));
        return 1;
    }
    rc = ward_driver_run(d);
    ward_driver_free(d);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: the node stopped abnormally: %s\n", ward_strerror(rc));
        return 1;
    }
    return 0;
}

int ward_make_dirs(const char *path, unsigned mode) {
    char tmp[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof tmp) return WARD_EINVAL;
    memcpy(tmp, path, len + 1);
    while (len > 1 && tmp[len - 1] == '/') tmp[--len] = '\0';
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return WARD_EIO;
        *p = '/';
    }
    if (mkdir(tmp, (mode_t)mode) != 0 && errno != EEXIST) return WARD_EIO;
    struct stat st;
    if (stat(tmp, &st) != 0) return WARD_EIO;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return WARD_EIO;
    }
    return WARD_OK;
}

int ward_cmd_init(int argc, char **argv) {
    const char *dir = NULL, *name = NULL, *listen = NULL;
    for (int i = 0; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--dir") == 0) dir = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--name") == 0) name = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--listen") == 0) listen = argv[++i];
        else {
            fprintf(stderr, "ward: error: unexpected argument '%s'\n", argv[i]);
            dir = NULL;
            break;
        }
    }
    if (!dir || !name || !listen) {
        fprintf(stderr, "ward: error: usage: ward init --dir D --name NAME --listen HOST:PORT\n");
        return 2;
    }
    if (!ward_name_valid(name)) {
        fprintf(stderr, "ward: error: invalid --name '%s': a node name is 1 to 32 of a-z, 0-9 "
                        "and '-'\n", name);
        return 2;
    }
    ward_roster_member m;
    memset(&m, 0, sizeof m);
    if (ward_parse_hostport(m.host, &m.port, listen) != WARD_OK) {
        fprintf(stderr, "ward: error: invalid --listen '%s': expected HOST:PORT ([v6]:PORT), "
                        "port 1-65535\n", listen);
        return 2;
    }
    snprintf(m.name, sizeof m.name, "%s", name);

    char conf_path[PATH_MAX + 16], key_path[PATH_MAX + 16], real[PATH_MAX];
    if (snprintf(conf_path, sizeof conf_path, "%s/node.conf", dir) >= (int)sizeof conf_path) {
        fprintf(stderr, "ward: error: --dir path is too long\n");
        return 2;
    }
    struct stat st;
    if (stat(conf_path, &st) == 0) {
        fprintf(stderr, "ward: error: %s exists; refusing to overwrite a node directory\n",
                conf_path);
        return 1;
    }
    if (ward_make_dirs(dir, 0700) != WARD_OK || !realpath(dir, real)) {
        fprintf(stderr, "ward: error: cannot create directory %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(key_path, sizeof key_path, "%s/key", real);

    /* A key made earlier with `ward keygen --out D` is kept. */
    int rc;
    if (stat(key_path, &st) == 0) {
        uint8_t priv[WARD_KEY_BYTES];
        rc = ward_keyfile_read_private(priv, key_path);
        if (rc == WARD_OK) crypto_scalarmult_base(m.pub, priv);
        sodium_memzero(priv, sizeof priv);
        if (rc == WARD_EKEY) {
            fprintf(stderr, "ward: error: %s is readable by group or others; run: chmod 600 %s\n",
                    key_path, key_path);
            return 1;
        }
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: %s exists but is not a usable private key: %s\n",
                    key_path, ward_strerror(rc));
            return 1;
        }
        fprintf(stderr, "using the existing key %s\n", key_path);
    } else {
        ward_rng rng;
        rc = ward_rng_init_system(&rng);
        if (rc == WARD_OK) rc = ward_keyfile_generate(m.pub, &rng, real);
        ward_rng_clear(&rng);
        if (rc != WARD_OK) {
            fprintf(stderr, "ward: error: cannot write keys in %s: %s\n", real, ward_strerror(rc));
            return 1;
        }
    }

    static ward_conf conf;
    rc = ward_conf_defaults(&conf, real);
    if (rc == WARD_OK) {
        snprintf(conf.name, sizeof conf.name, "%s", m.name);
        snprintf(conf.listen_host, sizeof conf.listen_host, "%s", m.host);
        conf.listen_port = m.port;
        conf.allow_exact = 0; /* a real department: every release is DP */
        snprintf(conf_path, sizeof conf_path, "%s/node.conf", real);
        rc = ward_conf_write(&conf, conf_path);
    }
    if (rc == WARD_OK) {
        /* The strict default policy (DECISIONS.md): every roster peer may
         * use every table, but only in differentially private releases. */
        char pol_path[PATH_MAX + 16];
        snprintf(pol_path, sizeof pol_path, "%s/policy", real);
        FILE *pf = fopen(pol_path, "wx");
        if (pf) {
            fputs(ward_policy_default_text(0), pf);
            if (fclose(pf) != 0) rc = WARD_EIO;
        } else if (errno != EEXIST) {
            rc = WARD_EIO;
        }
    }
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: cannot write %s: %s\n", conf_path,
                rc == WARD_ESTATE ? "it exists" : ward_strerror(rc));
        return 1;
    }

    char line[WARD_HOST_MAX + 128];
    rc = ward_roster_format_member(line, sizeof line, &m);
    if (rc != WARD_OK) {
        fprintf(stderr, "ward: error: cannot format the roster entry: %s\n", ward_strerror(rc));
        return 1;
    }
    fputs(line, stdout);
    if (strcmp(m.host, "0.0.0.0") == 0 || strcmp(m.host, "::") == 0)
        fprintf(stderr, "note: %s listens on every address; put the address peers dial in the "
                        "roster entry before sending it\n", m.host);
    fprintf(stderr,
            "node directory %s is ready. Send the roster entry above to the federation's\n"
            "coordinator, install the roster you get back as %s/roster, then run:\n"
            "  ward node --config %s\n",
            real, real, conf_path);
    return 0;
}
