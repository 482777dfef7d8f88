/* The control protocol's request checking and dispatch: see protocol.h. */
#include "api/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds "\n" to the compact form of obj, which it consumes. */
static char *to_line(json_t *obj)
{
    /* 12 significant digits: times in seconds to the microsecond for days, no binary noise. */
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(obj);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return NULL;
    }
    memcpy(line + n, "\n", 2);
    return line;
}

static json_t *error_object(const char *message)
{
    return json_pack("{s:b,s:s}", "ok", 0, "error", message);
}

char *api_error_line(const char *message)
{
    return to_line(error_object(message));
}

/* "a, b, c" from a NULL-terminated list, or from the command names. */
static void list_names(char *out, size_t outlen, const char *const *names,
                       const struct api_command *commands, size_t ncommands)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; names ? names[i] != NULL : i < ncommands; i++) {
        int n = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "",
                         names ? names[i] : commands[i].name);
        if (n < 0 || (size_t)n >= outlen - used)
            return;
        used += (size_t)n;
    }
}

static bool arg_known(const struct api_command *c, const char *key)
{
    if (!strcmp(key, "command") || !strcmp(key, "id"))
        return true;
    for (size_t i = 0; c->args && c->args[i]; i++)
        if (!strcmp(c->args[i], key))
            return true;
    return false;
}

/* The command's result, or an error object; request is borrowed. */
static json_t *dispatch(void *ctx, const struct api_command *commands,
                        size_t ncommands, json_t *request)
{
    char err[512], names[256];
    if (!json_is_object(request))
        return error_object("a request must be a JSON object, e.g. {\"command\": \"status\"}");
    json_t *name = json_object_get(request, "command");
    if (!json_is_string(name))
        return error_object("the request has no \"command\" string, e.g. {\"command\": \"status\"}");
    const struct api_command *c = NULL;
    for (size_t i = 0; i < ncommands && !c; i++)
        if (!strcmp(commands[i].name, json_string_value(name)))
            c = &commands[i];
    if (!c) {
        list_names(names, sizeof(names), NULL, commands, ncommands);
        snprintf(err, sizeof(err), "unknown command '%s' (commands: %s)",
                 json_string_value(name), names);
        return error_object(err);
    }
    const char *key;
    json_t *value;
    json_object_foreach(request, key, value) {
        if (!arg_known(c, key)) {
            list_names(names, sizeof(names), c->args, NULL, 0);
            snprintf(err, sizeof(err), "%s: unknown argument '%s' (%s%s)", c->name, key,
                     c->args ? "arguments: " : "it takes none", names);
            return error_object(err);
        }
    }
    err[0] = '\0';
    json_t *result = c->run(ctx, request, err, sizeof(err));
    if (!result) {
        if (!err[0])
            snprintf(err, sizeof(err), "%s: out of memory", c->name);
        return error_object(err);
    }
    json_t *response = json_pack("{s:b}", "ok", 1);
    if (response)
        json_object_update(response, result);
    json_decref(result);
    return response;
}

char *api_answer(void *ctx, const struct api_command *commands, size_t ncommands,
                 const char *line, size_t len)
{
    json_error_t jerr;
    json_t *request = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    json_t *response;
    if (!request) {
        char err[300];
        snprintf(err, sizeof(err), "not JSON: %s (at character %d)", jerr.text, jerr.position);
        response = error_object(err);
    } else {
        response = dispatch(ctx, commands, ncommands, request);
        json_t *id = json_is_object(request) ? json_object_get(request, "id") : NULL;
        if (response && id)
            json_object_set(response, "id", id);
        json_decref(request);
    }
    return to_line(response);
}
