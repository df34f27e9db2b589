/* CIP message decoding and its JSON rendering; see cip.h for the specifications and layouts.
 *
 * EPATH segments ([CIP1] Appendix C-1.4), padded form as EtherNet/IP carries them:
 *
 *   first byte   segment                         what follows
 *   ----------   -----------------------------   ------------------------------------------
 *   000e pppp    port (e: extended link size)    [size] [port u16 if pppp = 15] link [pad]
 *   001t ttff    logical: t = class 0, instance 1, member 2, connection point 3,
 *                attribute 4, special 5 (electronic key), service id 6, extended 7;
 *                f = 8-bit 0, 16-bit 1, 32-bit 2 value: u8 | pad u16 | pad u32
 *   010x xxxx    network                         1 byte, or (0x50-0x5F) word count + words
 *   011s ssss    symbolic, s = length 1..31      s bytes [pad]; s = 0: extended format byte
 *   1000 0000    simple data                     word count + words
 *   1001 0001    ANSI extended symbol            length + bytes [pad]  (a Logix tag name)
 *
 * Multiple Service Packet data ([CIP1] s.2-4.4 / A-4.10): service count (u16), that many
 * offsets (u16, from the start of the count), then the embedded messages; a response uses the
 * same layout for the embedded replies. Unconnected Send data ([CIP1] s.3-5.6.3): priority/tick,
 * timeout ticks, message size (u16), the message, a pad byte when the size is odd, route path
 * size (words), reserved, route path. Forward Open/Close: see dec_fwd_* below. */
#include "proto/cip.h"

#include <stdio.h>
#include <string.h>

#include "engine/emit.h"
#include "util/cursor.h"
#include "util/json.h"

#define CIP_EXT_SYMBOL 0x91u   /* ANSI extended symbol segment */
#define CIP_DATA_SIMPLE 0x80u  /* simple data segment */
#define CIP_KEY_SEGMENT 0x34u  /* logical special: electronic key */
#define CIP_KEY_FORMAT 4u      /* the only key format ([CIP1] C-1.4.2) */
#define CIP_KEY_LEN 8u         /* vendor, device type, product code, major, minor */
#define CIP_PORT_EXTENDED 15u  /* port id 15: a 16-bit port number follows */
#define CIP_PATH_SEGS_MAX 32   /* segments rendered per path in JSON */
#define CIP_HEX_MAX 32         /* opaque bytes shown per field */
#define CIP_SYMBOL_MAX 160     /* rendered tag name (Logix names are at most 40 per level) */

/* ---- EPATH --------------------------------------------------------------------------------- */

enum seg_type {
    SEG_PORT,
    SEG_CLASS,
    SEG_INSTANCE,
    SEG_MEMBER,
    SEG_CONNPT,
    SEG_ATTRIBUTE,
    SEG_KEY,
    SEG_SERVICE,
    SEG_EXT_LOGICAL,
    SEG_SYMBOL,
    SEG_NETWORK,
    SEG_DATA,
    SEG_BAD,
};

struct seg {
    enum seg_type type;
    uint32_t value;        /* logical value, or port number */
    const uint8_t *bytes;  /* link address, symbol, key or data bytes */
    size_t nbytes;
    uint8_t raw;           /* the segment's first byte */
};

/* Read the next segment of a padded EPATH. Returns false at the end or on a bad segment (then
 * `s->type` is SEG_BAD and the cursor is left in error). */
static bool seg_next(struct qw_cursor *c, struct seg *s)
{
    memset(s, 0, sizeof *s);
    if (qw_cur_left(c) == 0) return false;
    uint8_t b = qw_cur_u8(c);
    s->raw = b;
    switch (b >> 5) {
    case 0: { /* port */
        bool ext = (b & 0x10u) != 0;
        size_t link_len = ext ? qw_cur_u8(c) : 1;
        uint32_t port = b & 0x0Fu;
        if (port == CIP_PORT_EXTENDED) port = qw_cur_le16(c);
        s->type = SEG_PORT;
        s->value = port;
        s->bytes = qw_cur_take(c, link_len);
        s->nbytes = link_len;
        /* Extended segments are padded to an even length. */
        size_t seglen = 1 + (ext ? 1 : 0) + ((b & 0x0Fu) == CIP_PORT_EXTENDED ? 2 : 0) + link_len;
        if (seglen & 1u) qw_cur_skip(c, 1);
        break;
    }
    case 1: { /* logical */
        unsigned lt = (b >> 2) & 7u, fmt = b & 3u;
        if (lt == 5) { /* special: electronic key */
            uint8_t format = qw_cur_u8(c);
            s->type = SEG_KEY;
            s->value = format;
            s->bytes = qw_cur_take(c, CIP_KEY_LEN);
            s->nbytes = CIP_KEY_LEN;
            if (!c->err && (b != CIP_KEY_SEGMENT || format != CIP_KEY_FORMAT)) c->err = true;
            break;
        }
        if (fmt == 0) s->value = qw_cur_u8(c);
        else if (fmt == 1) {
            qw_cur_skip(c, 1);
            s->value = qw_cur_le16(c);
        } else if (fmt == 2) {
            qw_cur_skip(c, 1);
            s->value = qw_cur_le32(c);
        } else {
            c->err = true;
        }
        static const enum seg_type lts[8] = {SEG_CLASS,     SEG_INSTANCE, SEG_MEMBER,
                                             SEG_CONNPT,    SEG_ATTRIBUTE, SEG_KEY,
                                             SEG_SERVICE,   SEG_EXT_LOGICAL};
        s->type = lts[lt];
        break;
    }
    case 2: /* network */
        s->type = SEG_NETWORK;
        if (b & 0x10u) {
            size_t words = qw_cur_u8(c);
            s->nbytes = words * 2;
            s->bytes = qw_cur_take(c, s->nbytes);
        } else {
            s->nbytes = 1;
            s->bytes = qw_cur_take(c, 1);
        }
        break;
    case 3: { /* symbolic */
        size_t n = b & 0x1Fu;
        s->type = SEG_SYMBOL;
        if (n == 0) { /* extended string: format (3 bits) and size (5 bits) */
            uint8_t f = qw_cur_u8(c);
            unsigned width = (f >> 5) == 1 ? 2 : (f >> 5) == 2 ? 3 : 1;
            n = (size_t)(f & 0x1Fu) * width;
            if ((f >> 5) == 6) n = (f & 0x1Fu) == 6 ? 1 : (f & 0x1Fu) == 7 ? 2 : 4; /* numeric */
            s->bytes = qw_cur_take(c, n);
            s->nbytes = n;
            if ((2 + n) & 1u) qw_cur_skip(c, 1);
            s->type = SEG_DATA; /* not a printable name */
            break;
        }
        s->bytes = qw_cur_take(c, n);
        s->nbytes = n;
        if ((1 + n) & 1u) qw_cur_skip(c, 1);
        break;
    }
    case 4: /* data */
        if (b == CIP_EXT_SYMBOL) {
            size_t n = qw_cur_u8(c);
            s->type = SEG_SYMBOL;
            s->bytes = qw_cur_take(c, n);
            s->nbytes = n;
            if (n & 1u) qw_cur_skip(c, 1);
        } else if (b == CIP_DATA_SIMPLE) {
            size_t words = qw_cur_u8(c);
            s->type = SEG_DATA;
            s->nbytes = words * 2;
            s->bytes = qw_cur_take(c, s->nbytes);
        } else {
            c->err = true;
        }
        break;
    default: /* data types (0xA0-0xDF) never occur in these paths; 0xE0-0xFF reserved */
        c->err = true;
        break;
    }
    if (c->err) {
        s->type = SEG_BAD;
        return false;
    }
    return true;
}

/* Summarise a request path: first class/instance/attribute/member/connection point, and which
 * other segments appear. */
static void path_summarise(const uint8_t *base, size_t off, size_t len, struct cip_path *p)
{
    memset(p, 0, sizeof *p);
    p->off = (uint16_t)off;
    p->len = (uint16_t)len;
    struct qw_cursor c = qw_cursor_make(base + off, len);
    struct seg s;
    unsigned nclass = 0;
    while (seg_next(&c, &s)) {
        /* After a tag name, member/instance segments are array elements: they are rendered
         * in the symbol ("Tag[3]"), not as the addressed object's member. */
        if ((p->has & CIP_P_SYMBOL) && (s.type == SEG_MEMBER || s.type == SEG_INSTANCE))
            continue;
        switch (s.type) {
        case SEG_CLASS:
            if (!(p->has & CIP_P_CLASS)) p->class_id = s.value;
            p->has |= CIP_P_CLASS;
            if (++nclass > 1) p->has |= CIP_P_COMPLEX;
            break;
        case SEG_INSTANCE:
            if (!(p->has & CIP_P_INSTANCE)) p->instance = s.value;
            p->has |= CIP_P_INSTANCE;
            break;
        case SEG_ATTRIBUTE:
            if (!(p->has & CIP_P_ATTRIBUTE)) p->attribute = s.value;
            p->has |= CIP_P_ATTRIBUTE;
            break;
        case SEG_MEMBER:
            if (!(p->has & CIP_P_MEMBER)) p->member = s.value;
            p->has |= CIP_P_MEMBER;
            break;
        case SEG_CONNPT:
            if (!(p->has & CIP_P_CONNPT)) p->conn_point = s.value;
            p->has |= CIP_P_CONNPT;
            break;
        case SEG_SYMBOL: p->has |= CIP_P_SYMBOL; break;
        case SEG_PORT: p->has |= CIP_P_PORT | CIP_P_COMPLEX; break;
        case SEG_KEY: p->has |= CIP_P_KEY | CIP_P_COMPLEX; break;
        default: p->has |= CIP_P_OTHER | CIP_P_COMPLEX; break;
        }
    }
    if (c.err) p->has |= CIP_P_BAD | CIP_P_COMPLEX;
}

/* ---- Decoding context ---------------------------------------------------------------------- */

struct dec {
    struct cip_side *s;
    struct qw_pctx *ctx; /* NULL: silent */
    const struct cip_side *req;
};

static void anomaly(struct dec *d, const char *name, const char *detail)
{
    if (d->ctx) qw_emit_anomaly(d->ctx, name, detail);
}

static uint8_t msg_alloc(struct dec *d)
{
    struct cip_side *s = d->s;
    if (s->nmsgs >= CIP_MSGS_MAX) {
        s->msgs_dropped++;
        return CIP_NONE;
    }
    uint8_t i = s->nmsgs++;
    memset(&s->msgs[i], 0, sizeof s->msgs[i]);
    s->msgs[i].parent = s->msgs[i].first_child = CIP_NONE;
    return i;
}

static void side_init(struct cip_side *s, const uint8_t *buf, size_t len)
{
    s->buf = buf;
    s->len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len);
    s->nmsgs = 0;
    s->msgs_dropped = 0;
    s->fwd_msg = s->uc_msg = s->pccc_msg = s->id_msg = CIP_NONE;
    s->routed = false;
    memset(&s->fwd, 0, sizeof s->fwd);
    memset(&s->uc, 0, sizeof s->uc);
    memset(&s->pccc, 0, sizeof s->pccc);
    memset(&s->id, 0, sizeof s->id);
}

static size_t pos(const struct dec *d, const struct qw_cursor *c)
{
    return (size_t)(c->base - d->s->buf) + c->off;
}

static void set_name(struct cip_msg *m)
{
    bool has_path = (m->flags & CIP_M_PATH) != 0;
    struct cip_service_info si =
        cip_service_lookup(m->service, has_path && (m->path.has & CIP_P_CLASS),
                           m->path.class_id, has_path && (m->path.has & CIP_P_SYMBOL));
    m->name = si.name;
    m->ops = si.ops;
}

/* The MSP offset table shared by requests and replies: returns the number of members read into
 * offs (absolute buffer offsets), declared count in *declared. */
#define MSP_MEMBERS_MAX CIP_MSGS_MAX
static size_t msp_table(struct dec *d, struct qw_cursor *c, size_t start, size_t end,
                        uint16_t *declared, uint16_t offs[MSP_MEMBERS_MAX + 1])
{
    *declared = qw_cur_le16(c);
    if (c->err) return 0;
    size_t n = 0;
    bool bad = false;
    for (unsigned i = 0; i < *declared; i++) {
        uint16_t o = qw_cur_le16(c);
        if (c->err) break;
        size_t abs = start + o;
        if (abs < pos(d, c) || abs > end || (n > 0 && abs < offs[n - 1])) {
            bad = true;
            break;
        }
        if (n < MSP_MEMBERS_MAX) offs[n++] = (uint16_t)abs;
    }
    if (bad) anomaly(d, "enip.msp_invalid_offset", NULL);
    return n;
}

static uint8_t dec_req(struct dec *d, size_t off, size_t len, uint8_t parent, unsigned depth);

static void dec_pccc(struct dec *d, struct qw_cursor *c, bool reply)
{
    struct cip_pccc *p = &d->s->pccc;
    memset(p, 0, sizeof *p);
    p->reply = reply;
    /* Requestor id: length (counting itself), vendor id, serial number, optional bytes. */
    p->id_len = qw_cur_u8(c);
    p->vendor = qw_cur_le16(c);
    p->serial = qw_cur_le32(c);
    if (!c->err && p->id_len > 7) qw_cur_skip(c, (size_t)p->id_len - 7);
    if (!c->err && p->id_len < 7) anomaly(d, "enip.pccc_invalid_requestor_id", NULL);
    p->cmd = qw_cur_u8(c);
    p->sts = qw_cur_u8(c);
    p->tns = qw_cur_le16(c);
    if (c->err) return;
    p->has_cmd = true;
    uint8_t cmd = p->cmd & 0x0Fu; /* replies set bit 6 (0x40) of the command */
    if (reply) {
        if (p->sts == 0xF0) { /* extended status follows ([DF1] ch.8) */
            p->ext_sts = qw_cur_u8(c);
            p->has_ext = !c->err;
        }
    } else if (cip_pccc_has_fnc(cmd)) {
        p->fnc = qw_cur_u8(c);
        p->has_fnc = !c->err;
        if (p->has_fnc && cmd == 0x0F && p->fnc == 0x80) {
            p->mode = qw_cur_u8(c);
            p->has_mode = !c->err;
        }
    }
    struct cip_service_info si = cip_pccc_lookup(cmd, p->has_fnc, p->fnc, p->has_mode, p->mode);
    p->name = si.name;
    p->ops = si.ops;
}

/* Forward Open / Large Forward Open / Forward Close request ([CIP1] s.3-5.6.1, 3-5.6.2):
 *   tick(1) timeout(1) [open: O->T id(4) T->O id(4)] serial(2) vendor(2) orig serial(4)
 *   [open: multiplier(1) reserved(3) O->T RPI(4) O->T params(2|4) T->O RPI(4) T->O params(2|4)
 *   trigger(1)] path size(1 word count) [close: reserved(1)] path */
static void dec_fwd_req(struct dec *d, struct qw_cursor *c, uint8_t service)
{
    struct cip_fwd *f = &d->s->fwd;
    memset(f, 0, sizeof *f);
    f->close = service == CIP_SVC_FORWARD_CLOSE;
    f->large = service == CIP_SVC_LARGE_FORWARD_OPEN;
    f->tick = qw_cur_u8(c);
    f->timeout_ticks = qw_cur_u8(c);
    if (!f->close) {
        f->ot_id = qw_cur_le32(c);
        f->to_id = qw_cur_le32(c);
        f->has_ids = !c->err;
    }
    f->serial = qw_cur_le16(c);
    f->vendor = qw_cur_le16(c);
    f->orig_serial = qw_cur_le32(c);
    f->has_serial = !c->err;
    if (!f->close) {
        f->multiplier = qw_cur_u8(c);
        qw_cur_skip(c, 3);
        f->ot_rpi = qw_cur_le32(c);
        f->ot_params = f->large ? qw_cur_le32(c) : qw_cur_le16(c);
        f->to_rpi = qw_cur_le32(c);
        f->to_params = f->large ? qw_cur_le32(c) : qw_cur_le16(c);
        f->trigger = qw_cur_u8(c);
        f->has_rpi = !c->err;
    }
    size_t words = qw_cur_u8(c);
    if (f->close) qw_cur_skip(c, 1);
    size_t start = pos(d, c);
    if (qw_cur_skip(c, words * 2)) {
        f->cpath_off = (uint16_t)start;
        f->cpath_len = (uint16_t)(words * 2);
    }
}

/* Forward Open/Close reply. Success: [open: O->T id, T->O id] serial, vendor, orig serial,
 * [open: O->T API, T->O API] app reply size (words), reserved, app reply. Failure: serial,
 * vendor, orig serial, remaining path size, [reserved]. */
static void dec_fwd_rsp(struct dec *d, struct qw_cursor *c, uint8_t service, bool ok)
{
    struct cip_fwd *f = &d->s->fwd;
    memset(f, 0, sizeof *f);
    f->reply = true;
    f->failed = !ok;
    f->close = service == CIP_SVC_FORWARD_CLOSE;
    f->large = service == CIP_SVC_LARGE_FORWARD_OPEN;
    if (ok && !f->close) {
        f->ot_id = qw_cur_le32(c);
        f->to_id = qw_cur_le32(c);
        f->has_ids = !c->err;
    }
    f->serial = qw_cur_le16(c);
    f->vendor = qw_cur_le16(c);
    f->orig_serial = qw_cur_le32(c);
    f->has_serial = !c->err;
    if (!ok) {
        if (qw_cur_left(c) > 0) {
            f->remaining_path = qw_cur_u8(c);
            f->has_remaining = true;
            if (qw_cur_left(c) > 0) qw_cur_skip(c, 1);
        }
        return;
    }
    if (!f->close) {
        f->ot_api = qw_cur_le32(c);
        f->to_api = qw_cur_le32(c);
        f->has_api = !c->err;
    }
    f->app_reply_words = qw_cur_u8(c);
    qw_cur_skip(c, 1);
    qw_cur_skip(c, (size_t)f->app_reply_words * 2);
}

/* Unconnected Send request data ([CIP1] s.3-5.6.3). Returns the embedded message's child index. */
static uint8_t dec_ucsend_req(struct dec *d, struct qw_cursor *c, uint8_t self, unsigned depth)
{
    struct cip_ucsend *u = &d->s->uc;
    memset(u, 0, sizeof *u);
    u->tick = qw_cur_u8(c);
    u->timeout_ticks = qw_cur_u8(c);
    u->msg_size = qw_cur_le16(c);
    if (c->err) return CIP_NONE;
    size_t moff = pos(d, c);
    size_t avail = qw_cur_left(c);
    size_t mlen = u->msg_size <= avail ? u->msg_size : avail;
    if (u->msg_size > avail) anomaly(d, "enip.invalid_length", "unconnected_send message size");
    qw_cur_skip(c, mlen);
    uint8_t child = CIP_NONE;
    if (mlen > 0) child = dec_req(d, moff, mlen, self, depth + 1);
    if (u->msg_size & 1u) qw_cur_skip(c, 1);
    size_t words = qw_cur_u8(c);
    qw_cur_skip(c, 1);
    size_t roff = pos(d, c);
    if (qw_cur_skip(c, words * 2)) {
        u->route_off = (uint16_t)roff;
        u->route_len = (uint16_t)(words * 2);
        u->has_route = true;
        /* Any port segment sends the request on to another device (a backplane slot, another
         * network): what answers is that device, not the one at the end of this flow. */
        d->s->routed = words > 0;
    }
    return child;
}

/* One request message at [off, off+len) of the side's buffer. */
static uint8_t dec_req(struct dec *d, size_t off, size_t len, uint8_t parent, unsigned depth)
{
    struct cip_side *s = d->s;
    if (depth > CIP_DEPTH_MAX) {
        anomaly(d, "enip.nesting_too_deep", NULL);
        return CIP_NONE;
    }
    uint8_t idx = msg_alloc(d);
    if (idx == CIP_NONE) return CIP_NONE;
    struct cip_msg *m = &s->msgs[idx];
    m->off = (uint16_t)off;
    m->len = (uint16_t)len;
    m->parent = parent;
    struct qw_cursor c = qw_cursor_make(s->buf + off, len);
    uint8_t svc = qw_cur_u8(&c);
    size_t words = qw_cur_u8(&c);
    if (c.err) {
        m->flags |= CIP_M_TRUNCATED;
        anomaly(d, "enip.cip_truncated", NULL);
        return idx;
    }
    m->service = svc & 0x7Fu;
    if (svc & CIP_REPLY_BIT) anomaly(d, "enip.cip_reply_in_request", NULL);
    size_t poff = pos(d, &c);
    if (!qw_cur_skip(&c, words * 2)) {
        m->flags |= CIP_M_TRUNCATED;
        anomaly(d, "enip.cip_truncated", "request path");
        return idx;
    }
    path_summarise(s->buf, poff, words * 2, &m->path);
    m->flags |= CIP_M_PATH;
    if (m->path.has & CIP_P_BAD) anomaly(d, "enip.invalid_path", NULL);
    m->data_off = (uint16_t)pos(d, &c);
    m->data_len = (uint16_t)qw_cur_left(&c);
    set_name(m);

    bool cls = (m->path.has & CIP_P_CLASS) != 0;
    uint32_t k = m->path.class_id;
    if (m->service == CIP_SVC_MULTIPLE_SERVICE && (!cls || k == CIP_CLASS_MESSAGE_ROUTER)) {
        m->kind = CIP_K_MSP;
        uint16_t offs[MSP_MEMBERS_MAX + 1];
        size_t start = m->data_off, end = (size_t)m->off + m->len;
        size_t n = msp_table(d, &c, start, end, &m->count_declared, offs);
        if (c.err) m->flags |= CIP_M_TRUNCATED;
        for (size_t i = 0; i < n; i++) {
            size_t mo = offs[i], me = i + 1 < n ? offs[i + 1] : end;
            uint8_t ch = dec_req(d, mo, me - mo, idx, depth + 1);
            if (ch == CIP_NONE) continue;
            if (s->msgs[idx].first_child == CIP_NONE) s->msgs[idx].first_child = ch;
            s->msgs[idx].nchildren++;
        }
        if (m->count_declared > n) s->msgs_dropped += (uint16_t)(m->count_declared - n);
        return idx;
    }
    if (!cls || k != CIP_CLASS_CONNECTION_MANAGER) {
        if (cls && k == CIP_CLASS_PCCC && m->service == CIP_SVC_EXECUTE_PCCC &&
            s->pccc_msg == CIP_NONE) {
            m->kind = CIP_K_PCCC;
            s->pccc_msg = idx;
            dec_pccc(d, &c, false);
            if (s->pccc.has_cmd) m->ops = s->pccc.ops;
            if (c.err) m->flags |= CIP_M_TRUNCATED;
        }
        return idx;
    }
    switch (m->service) {
    case CIP_SVC_UNCONNECTED_SEND:
        if (s->uc_msg != CIP_NONE) break;
        m->kind = CIP_K_UCSEND;
        s->uc_msg = idx;
        {
            uint8_t ch = dec_ucsend_req(d, &c, idx, depth);
            m = &s->msgs[idx];
            if (ch != CIP_NONE) {
                m->first_child = ch;
                m->nchildren = 1;
            }
        }
        break;
    case CIP_SVC_FORWARD_OPEN:
    case CIP_SVC_LARGE_FORWARD_OPEN:
    case CIP_SVC_FORWARD_CLOSE:
        if (s->fwd_msg != CIP_NONE) break;
        m->kind = m->service == CIP_SVC_FORWARD_CLOSE ? CIP_K_FWD_CLOSE : CIP_K_FWD_OPEN;
        s->fwd_msg = idx;
        dec_fwd_req(d, &c, m->service);
        break;
    default:
        break;
    }
    if (c.err) {
        s->msgs[idx].flags |= CIP_M_TRUNCATED;
        anomaly(d, "enip.cip_truncated", s->msgs[idx].name);
    }
    return idx;
}

void cip_decode_request(struct cip_side *s, const uint8_t *buf, size_t len, struct qw_pctx *ctx)
{
    side_init(s, buf, len);
    struct dec d = {s, ctx, NULL};
    if (s->len > 0) (void)dec_req(&d, 0, s->len, CIP_NONE, 0);
}

/* ---- Responses ----------------------------------------------------------------------------- */

static const struct cip_msg *req_msg(const struct dec *d, uint8_t i)
{
    return d->req && i != CIP_NONE && i < d->req->nmsgs ? &d->req->msgs[i] : NULL;
}

/* The request child `n` places after `first` among `parent`'s children. */
static uint8_t req_child(const struct dec *d, uint8_t parent, size_t n)
{
    const struct cip_msg *p = req_msg(d, parent);
    if (!p || n >= p->nchildren) return CIP_NONE;
    size_t seen = 0;
    for (uint8_t i = p->first_child; i < d->req->nmsgs; i++) {
        if (d->req->msgs[i].parent != parent) continue;
        if (seen++ == n) return i;
    }
    return CIP_NONE;
}

static void dec_identity_reply(struct dec *d, struct qw_cursor *c, uint8_t idx)
{
    struct cip_side *s = d->s;
    if (s->id_msg != CIP_NONE) return;
    struct qw_cursor ic = *c;
    if (cip_read_identity(&ic, s->buf, &s->id, true)) s->id_msg = idx;
    else anomaly(d, "enip.cip_truncated", "identity");
}

/* Get_Attribute_List reply on the Identity object ([CIP1], s.5A-2.2): count, then per
 * attribute its id, status and (when the status is 0) its value. Kept as an identity when it
 * returns every attribute an identity needs (1-4, 6, 7); a value of unknown size ends the walk. */
static void dec_identity_list(struct dec *d, struct qw_cursor *c, uint8_t idx)
{
    struct cip_side *s = d->s;
    if (s->id_msg != CIP_NONE) return;
    struct cip_identity id;
    memset(&id, 0, sizeof id);
    unsigned got = 0;
    uint16_t count = qw_cur_le16(c);
    for (unsigned i = 0; i < count && !c->err; i++) {
        uint16_t attr = qw_cur_le16(c);
        uint16_t st = qw_cur_le16(c);
        if (c->err || st != 0) continue;
        switch (attr) {
        case 1: id.vendor = qw_cur_le16(c); break;
        case 2: id.device_type = qw_cur_le16(c); break;
        case 3: id.product_code = qw_cur_le16(c); break;
        case 4:
            id.major = qw_cur_u8(c);
            id.minor = qw_cur_u8(c);
            break;
        case 5: id.status = qw_cur_le16(c); break;
        case 6: id.serial = qw_cur_le32(c); break;
        case 7: {
            uint8_t n = qw_cur_u8(c);
            id.name_off = (uint16_t)pos(d, c);
            if (!qw_cur_skip(c, n)) break;
            id.name_len = n;
            break;
        }
        case 8:
            id.state = qw_cur_u8(c);
            id.has_state = !c->err;
            break;
        default:
            return;
        }
        if (!c->err && attr < 32) got |= 1u << attr;
    }
    unsigned need = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 6) | (1u << 7);
    if ((got & need) == need) {
        s->id = id;
        s->id_msg = idx;
    }
}

static uint8_t dec_rsp(struct dec *d, size_t off, size_t len, uint8_t parent, uint8_t rq,
                       unsigned depth)
{
    struct cip_side *s = d->s;
    if (depth > CIP_DEPTH_MAX) {
        anomaly(d, "enip.nesting_too_deep", NULL);
        return CIP_NONE;
    }
    uint8_t idx = msg_alloc(d);
    if (idx == CIP_NONE) return CIP_NONE;
    struct cip_msg *m = &s->msgs[idx];
    m->off = (uint16_t)off;
    m->len = (uint16_t)len;
    m->parent = parent;
    m->flags |= CIP_M_REPLY;
    struct qw_cursor c = qw_cursor_make(s->buf + off, len);
    uint8_t svc = qw_cur_u8(&c);
    qw_cur_skip(&c, 1);
    m->status = qw_cur_u8(&c);
    m->ext_words = qw_cur_u8(&c);
    m->service = svc & 0x7Fu;
    if (c.err) {
        m->flags |= CIP_M_TRUNCATED;
        anomaly(d, "enip.cip_truncated", NULL);
        return idx;
    }
    if (!(svc & CIP_REPLY_BIT)) anomaly(d, "enip.cip_request_in_reply", NULL);
    m->ext_off = (uint16_t)pos(d, &c);
    if (!qw_cur_skip(&c, (size_t)m->ext_words * 2)) {
        m->flags |= CIP_M_TRUNCATED;
        m->ext_words = (uint8_t)(qw_cur_left(&c) / 2);
        anomaly(d, "enip.cip_truncated", "additional status");
        return idx;
    }
    m->data_off = (uint16_t)pos(d, &c);
    m->data_len = (uint16_t)qw_cur_left(&c);

    /* The reply to an Unconnected Send is the embedded request's reply, unless the router
     * itself failed (then it is the Unconnected Send reply). */
    const struct cip_msg *r = req_msg(d, rq);
    const struct cip_msg *emb = r && r->kind == CIP_K_UCSEND ? req_msg(d, r->first_child) : NULL;
    /* A router failure has an error status; a successful 0xD2 answers an embedded 0x52 (Read
     * Tag Fragmented sent through the router). */
    bool router_reply = m->service == CIP_SVC_UNCONNECTED_SEND &&
                        !(emb && emb->service == CIP_SVC_UNCONNECTED_SEND &&
                          (m->status == CIP_STATUS_SUCCESS || m->status == CIP_STATUS_PARTIAL));
    if (emb && !router_reply) {
        rq = r->first_child;
        r = req_msg(d, rq);
    }
    if (r) {
        m->path = r->path;
        m->flags |= CIP_M_PATH;
        if (r->service != m->service) anomaly(d, "enip.service_mismatch", NULL);
    }
    set_name(m);
    bool ok = m->status == CIP_STATUS_SUCCESS;
    uint8_t rkind = r ? r->kind : CIP_K_PLAIN;
    bool mr = !r && (m->service == CIP_SVC_MULTIPLE_SERVICE);

    if ((rkind == CIP_K_MSP || mr) && m->service == CIP_SVC_MULTIPLE_SERVICE) {
        m->kind = CIP_K_MSP;
        if (m->data_len == 0) return idx; /* an error reply carries no member table */
        uint16_t offs[MSP_MEMBERS_MAX + 1];
        size_t start = m->data_off, end = (size_t)m->off + m->len;
        size_t n = msp_table(d, &c, start, end, &m->count_declared, offs);
        if (c.err) m->flags |= CIP_M_TRUNCATED;
        for (size_t i = 0; i < n; i++) {
            size_t mo = offs[i], me = i + 1 < n ? offs[i + 1] : end;
            uint8_t ch = dec_rsp(d, mo, me - mo, idx, req_child(d, rq, i), depth + 1);
            if (ch == CIP_NONE) continue;
            if (s->msgs[idx].first_child == CIP_NONE) s->msgs[idx].first_child = ch;
            s->msgs[idx].nchildren++;
        }
        if (m->count_declared > n) s->msgs_dropped += (uint16_t)(m->count_declared - n);
        return idx;
    }
    if (rkind == CIP_K_UCSEND) {
        m->kind = CIP_K_UCSEND;
        if (s->uc_msg == CIP_NONE) {
            s->uc_msg = idx;
            memset(&s->uc, 0, sizeof s->uc);
            if (qw_cur_left(&c) > 0) {
                s->uc.remaining_path = qw_cur_u8(&c);
                s->uc.has_remaining = true;
            }
        }
        return idx;
    }
    if ((rkind == CIP_K_FWD_OPEN || rkind == CIP_K_FWD_CLOSE) && s->fwd_msg == CIP_NONE) {
        m->kind = rkind;
        s->fwd_msg = idx;
        dec_fwd_rsp(d, &c, m->service, ok);
    } else if (rkind == CIP_K_PCCC && s->pccc_msg == CIP_NONE && m->data_len > 0) {
        m->kind = CIP_K_PCCC;
        s->pccc_msg = idx;
        dec_pccc(d, &c, true);
        if (d->req && d->req->pccc_msg != CIP_NONE) {
            m->ops = d->req->pccc.ops;
            s->pccc.name = d->req->pccc.name;
        }
    } else if (ok && m->service == CIP_SVC_GET_ATTRIBUTES_ALL && (m->flags & CIP_M_PATH) &&
               (m->path.has & CIP_P_CLASS) && m->path.class_id == CIP_CLASS_IDENTITY &&
               (m->path.has & CIP_P_INSTANCE) && m->path.instance >= 1) {
        dec_identity_reply(d, &c, idx);
    } else if (ok && m->service == 0x03 && (m->flags & CIP_M_PATH) &&
               (m->path.has & CIP_P_CLASS) && m->path.class_id == CIP_CLASS_IDENTITY) {
        struct qw_cursor lc = c;
        dec_identity_list(d, &lc, idx);
    }
    if (c.err) {
        s->msgs[idx].flags |= CIP_M_TRUNCATED;
        anomaly(d, "enip.cip_truncated", s->msgs[idx].name);
    }
    return idx;
}

void cip_decode_response(struct cip_side *s, const uint8_t *buf, size_t len,
                         const struct cip_side *req, struct qw_pctx *ctx)
{
    side_init(s, buf, len);
    struct dec d = {s, ctx, req};
    uint8_t rq = req && req->nmsgs > 0 ? 0 : CIP_NONE;
    if (s->len > 0) (void)dec_rsp(&d, 0, s->len, CIP_NONE, rq, 0);
}

uint8_t cip_effective(const struct cip_side *s)
{
    if (s->nmsgs == 0) return CIP_NONE;
    uint8_t i = 0;
    while (i < s->nmsgs && s->msgs[i].kind == CIP_K_UCSEND && !(s->msgs[i].flags & CIP_M_REPLY) &&
           s->msgs[i].nchildren > 0 && s->msgs[i].first_child < s->nmsgs)
        i = s->msgs[i].first_child;
    return i;
}

uint32_t cip_ops(const struct cip_side *s, uint8_t i)
{
    if (i >= s->nmsgs) return 0;
    uint32_t ops = s->msgs[i].ops;
    /* Children always follow their parent in the array. */
    for (uint8_t k = (uint8_t)(i + 1); k < s->nmsgs; k++) {
        uint8_t p = s->msgs[k].parent;
        while (p != CIP_NONE && p != i && p < k) p = s->msgs[p].parent;
        if (p == i) ops |= s->msgs[k].ops;
    }
    return ops;
}

bool cip_error(const struct cip_side *s)
{
    if (s->nmsgs == 0) return false;
    const struct cip_msg *m = &s->msgs[0];
    return (m->flags & CIP_M_REPLY) && m->status != CIP_STATUS_SUCCESS &&
           m->status != CIP_STATUS_PARTIAL;
}

/* ---- Identity ------------------------------------------------------------------------------ */

bool cip_read_identity(struct qw_cursor *c, const uint8_t *base, struct cip_identity *id,
                       bool with_state)
{
    memset(id, 0, sizeof *id);
    id->vendor = qw_cur_le16(c);
    id->device_type = qw_cur_le16(c);
    id->product_code = qw_cur_le16(c);
    id->major = qw_cur_u8(c);
    id->minor = qw_cur_u8(c);
    id->status = qw_cur_le16(c);
    id->serial = qw_cur_le32(c);
    uint8_t n = qw_cur_u8(c);
    if (c->err) return false;
    size_t noff = (size_t)(c->base - base) + c->off;
    size_t avail = qw_cur_left(c);
    if (n > avail) n = (uint8_t)avail; /* a cut name is kept as far as it goes */
    qw_cur_skip(c, n);
    id->name_off = (uint16_t)noff;
    id->name_len = n;
    if (with_state && qw_cur_left(c) >= 1) {
        id->state = qw_cur_u8(c);
        id->has_state = true;
    }
    return true;
}

/* Product names are padded with NULs or spaces by some devices: keep what they sent, trimmed. */
static size_t trimmed_len(const uint8_t *p, size_t n)
{
    while (n > 0 && (p[n - 1] == 0 || p[n - 1] == ' ')) n--;
    return n;
}

void cip_write_identity_json(struct qw_json *j, const struct cip_identity *id,
                             const uint8_t *name_base)
{
    char buf[16];
    qw_json_u64(j, "vendor_id", id->vendor);
    const char *vn = cip_vendor_name(id->vendor);
    if (vn) qw_json_str(j, "vendor", vn);
    qw_json_u64(j, "device_type", id->device_type);
    const char *dn = cip_device_type_name(id->device_type);
    qw_json_str(j, "device_type_name", dn ? dn : "unknown");
    qw_json_u64(j, "product_code", id->product_code);
    snprintf(buf, sizeof buf, "%u.%u", id->major, id->minor);
    qw_json_str(j, "revision", buf);
    qw_json_u64(j, "status", id->status);
    snprintf(buf, sizeof buf, "0x%08x", id->serial);
    qw_json_str(j, "serial", buf);
    qw_json_strn(j, "product_name", name_base + id->name_off,
                 trimmed_len(name_base + id->name_off, id->name_len));
    if (id->has_state) qw_json_u64(j, "state", id->state);
}

void cip_emit_identity(struct qw_pctx *ctx, bool server, const struct cip_identity *id,
                       const uint8_t *name_base, const uint8_t *ip)
{
    char buf[64];
    int n;
    n = snprintf(buf, sizeof buf, "%u", id->vendor);
    qw_emit_identity(ctx, server, "vendor_id", buf, (size_t)n);
    const char *vn = cip_vendor_name(id->vendor);
    if (vn) qw_emit_identity(ctx, server, "vendor", vn, strlen(vn));
    const char *dn = cip_device_type_name(id->device_type);
    if (dn) qw_emit_identity(ctx, server, "device_type", dn, strlen(dn));
    else {
        n = snprintf(buf, sizeof buf, "%u", id->device_type);
        qw_emit_identity(ctx, server, "device_type", buf, (size_t)n);
    }
    n = snprintf(buf, sizeof buf, "%u", id->product_code);
    qw_emit_identity(ctx, server, "product_code", buf, (size_t)n);
    n = snprintf(buf, sizeof buf, "%u.%u", id->major, id->minor);
    qw_emit_identity(ctx, server, "firmware", buf, (size_t)n);
    n = snprintf(buf, sizeof buf, "0x%08x", id->serial);
    qw_emit_identity(ctx, server, "serial", buf, (size_t)n);
    size_t nl = trimmed_len(name_base + id->name_off, id->name_len);
    if (nl > 0) {
        qw_emit_identity(ctx, server, "model", (const char *)name_base + id->name_off, nl);
        qw_emit_identity(ctx, server, "product_name", (const char *)name_base + id->name_off,
                         nl);
    }
    if (ip && (ip[0] | ip[1] | ip[2] | ip[3])) {
        n = snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
        qw_emit_identity(ctx, server, "ip", buf, (size_t)n);
    }
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_hex_capped(struct qw_json *j, const char *key, const uint8_t *p, size_t n)
{
    qw_json_hex(j, key, p, n > CIP_HEX_MAX ? CIP_HEX_MAX : n);
}

static void json_class(struct qw_json *j, uint32_t cls)
{
    qw_json_u64(j, "class", cls);
    const char *cn = cip_class_name(cls);
    qw_json_str(j, "class_name", cn ? cn : "unknown");
}

/* A tag name from the path's symbolic segments: "Program:Main.Tag[3].Member". */
static size_t path_symbol(const uint8_t *base, const struct cip_path *p, char *out, size_t cap)
{
    struct qw_cursor c = qw_cursor_make(base + p->off, p->len);
    struct seg s;
    size_t n = 0;
    bool any = false;
    while (seg_next(&c, &s) && n + 1 < cap) {
        if (s.type == SEG_SYMBOL) {
            if (any && n + 1 < cap) out[n++] = '.';
            for (size_t i = 0; i < s.nbytes && n + 1 < cap; i++) out[n++] = (char)s.bytes[i];
            any = true;
        } else if (any && (s.type == SEG_MEMBER || s.type == SEG_INSTANCE)) {
            int w = snprintf(out + n, cap - n, "[%u]", s.value);
            if (w < 0 || (size_t)w >= cap - n) break;
            n += (size_t)w;
        }
    }
    out[n < cap ? n : cap - 1] = 0;
    return n;
}

/* Every segment of a path, as an array of small objects. */
static void json_segments(struct qw_json *j, const char *key, const uint8_t *base, size_t off,
                          size_t len)
{
    qw_json_arr_begin(j, key);
    struct qw_cursor c = qw_cursor_make(base + off, len);
    struct seg s;
    unsigned n = 0;
    while (n++ < CIP_PATH_SEGS_MAX && seg_next(&c, &s)) {
        qw_json_obj_begin(j, NULL);
        switch (s.type) {
        case SEG_PORT:
            qw_json_u64(j, "port", s.value);
            if (s.nbytes == 1) qw_json_u64(j, "link", s.bytes[0]);
            else qw_json_strn(j, "link", s.bytes, s.nbytes); /* an IP address as text */
            break;
        case SEG_CLASS: json_class(j, s.value); break;
        case SEG_INSTANCE: qw_json_u64(j, "instance", s.value); break;
        case SEG_MEMBER: qw_json_u64(j, "member", s.value); break;
        case SEG_CONNPT: qw_json_u64(j, "connection_point", s.value); break;
        case SEG_ATTRIBUTE: qw_json_u64(j, "attribute", s.value); break;
        case SEG_SERVICE: qw_json_u64(j, "service_id", s.value); break;
        case SEG_EXT_LOGICAL: qw_json_u64(j, "extended_logical", s.value); break;
        case SEG_KEY: {
            struct qw_cursor k = qw_cursor_make(s.bytes, s.nbytes);
            uint16_t v = qw_cur_le16(&k), dt = qw_cur_le16(&k), pc = qw_cur_le16(&k);
            uint8_t maj = qw_cur_u8(&k), min = qw_cur_u8(&k);
            qw_json_obj_begin(j, "electronic_key");
            qw_json_u64(j, "vendor_id", v);
            qw_json_u64(j, "device_type", dt);
            qw_json_u64(j, "product_code", pc);
            qw_json_bool(j, "compatibility", (maj & 0x80u) != 0);
            qw_json_u64(j, "major_revision", maj & 0x7Fu);
            qw_json_u64(j, "minor_revision", min);
            qw_json_obj_end(j);
            break;
        }
        case SEG_SYMBOL: qw_json_strn(j, "symbol", s.bytes, s.nbytes); break;
        case SEG_NETWORK:
            qw_json_u64(j, "network", s.raw);
            json_hex_capped(j, "data", s.bytes, s.nbytes);
            break;
        case SEG_DATA: json_hex_capped(j, "data", s.bytes, s.nbytes); break;
        case SEG_BAD: break;
        }
        qw_json_obj_end(j);
    }
    if (c.err) {
        qw_json_obj_begin(j, NULL);
        qw_json_bool(j, "invalid", true);
        qw_json_obj_end(j);
    }
    qw_json_arr_end(j);
}

static void json_path(struct qw_json *j, const uint8_t *base, const struct cip_path *p)
{
    qw_json_obj_begin(j, "path");
    if (p->has & CIP_P_CLASS) json_class(j, p->class_id);
    if (p->has & CIP_P_INSTANCE) qw_json_u64(j, "instance", p->instance);
    if (p->has & CIP_P_ATTRIBUTE) qw_json_u64(j, "attribute", p->attribute);
    if (p->has & CIP_P_MEMBER) qw_json_u64(j, "member", p->member);
    if (p->has & CIP_P_CONNPT) qw_json_u64(j, "connection_point", p->conn_point);
    if (p->has & CIP_P_SYMBOL) {
        char sym[CIP_SYMBOL_MAX];
        size_t n = path_symbol(base, p, sym, sizeof sym);
        qw_json_strn(j, "symbol", sym, n);
    }
    if (p->has & CIP_P_COMPLEX) json_segments(j, "segments", base, p->off, p->len);
    qw_json_obj_end(j);
}

/* Network connection parameters ([CIP1] s.3-5.5.1.1): 16-bit (Forward Open) or 32-bit (Large). */
static void json_net_params(struct qw_json *j, const char *prefix, uint32_t v, bool large)
{
    static const char *const types[4] = {"null", "multicast", "point_to_point", "reserved"};
    static const char *const prios[4] = {"low", "high", "scheduled", "urgent"};
    unsigned sh = large ? 16 : 0;
    uint32_t size = large ? (v & 0xFFFFu) : (v & 0x1FFu);
    char key[32];
    snprintf(key, sizeof key, "%s_connection_size", prefix);
    qw_json_u64(j, key, size);
    snprintf(key, sizeof key, "%s_connection_type", prefix);
    qw_json_str(j, key, types[(v >> (13 + sh)) & 3u]);
    snprintf(key, sizeof key, "%s_priority", prefix);
    qw_json_str(j, key, prios[(v >> (10 + sh)) & 3u]);
    snprintf(key, sizeof key, "%s_fixed_size", prefix);
    qw_json_bool(j, key, ((v >> (9 + sh)) & 1u) == 0);
}

static void json_conn_id(struct qw_json *j, const char *key, uint32_t v)
{
    char buf[16];
    snprintf(buf, sizeof buf, "0x%08x", v);
    qw_json_str(j, key, buf);
}

static void json_fwd(struct qw_json *j, const struct cip_side *s)
{
    const struct cip_fwd *f = &s->fwd;
    char buf[16];
    qw_json_obj_begin(j, f->close ? "forward_close" : "forward_open");
    if (f->large) qw_json_bool(j, "large", true);
    if (!f->reply) {
        qw_json_u64(j, "priority_time_tick", f->tick);
        qw_json_u64(j, "timeout_ticks", f->timeout_ticks);
    }
    if (f->has_ids) {
        json_conn_id(j, "ot_connection_id", f->ot_id);
        json_conn_id(j, "to_connection_id", f->to_id);
    }
    if (f->has_serial) {
        qw_json_u64(j, "connection_serial", f->serial);
        qw_json_u64(j, "vendor_id", f->vendor);
        const char *vn = cip_vendor_name(f->vendor);
        if (vn) qw_json_str(j, "vendor", vn);
        snprintf(buf, sizeof buf, "0x%08x", f->orig_serial);
        qw_json_str(j, "originator_serial", buf);
    }
    if (f->has_rpi) {
        qw_json_u64(j, "timeout_multiplier", f->multiplier);
        qw_json_u64(j, "ot_rpi_us", f->ot_rpi);
        json_net_params(j, "ot", f->ot_params, f->large);
        qw_json_u64(j, "to_rpi_us", f->to_rpi);
        json_net_params(j, "to", f->to_params, f->large);
        static const char *const triggers[8] = {"cyclic", "change_of_state", "application"};
        const char *tn = triggers[(f->trigger >> 4) & 7u];
        qw_json_u64(j, "transport_class", f->trigger & 0x0Fu);
        qw_json_str(j, "trigger", tn ? tn : "reserved");
        qw_json_str(j, "direction", (f->trigger & 0x80u) ? "server" : "client");
    }
    if (f->has_api) {
        qw_json_u64(j, "ot_api_us", f->ot_api);
        qw_json_u64(j, "to_api_us", f->to_api);
    }
    if (f->has_remaining) qw_json_u64(j, "remaining_path_size", f->remaining_path);
    if (!f->reply && f->cpath_len > 0)
        json_segments(j, "connection_path", s->buf, f->cpath_off, f->cpath_len);
    qw_json_obj_end(j);
}

static void json_pccc(struct qw_json *j, const struct cip_pccc *p)
{
    char buf[16];
    qw_json_obj_begin(j, "pccc");
    qw_json_u64(j, "requestor_vendor_id", p->vendor);
    snprintf(buf, sizeof buf, "0x%08x", p->serial);
    qw_json_str(j, "requestor_serial", buf);
    if (p->has_cmd) {
        qw_json_u64(j, "command", p->cmd);
        qw_json_u64(j, "status", p->sts);
        qw_json_u64(j, "transaction", p->tns);
    }
    if (p->has_ext) qw_json_u64(j, "extended_status", p->ext_sts);
    if (p->has_fnc) qw_json_u64(j, "function", p->fnc);
    if (p->has_cmd) qw_json_str(j, "function_name", p->name ? p->name : "unknown");
    if (p->has_mode) {
        qw_json_u64(j, "mode", p->mode);
        qw_json_str(j, "mode_name", p->mode == 0x01   ? "remote_program"
                                    : p->mode == 0x06 ? "remote_run"
                                                      : "unknown");
    }
    qw_json_obj_end(j);
}

static void json_msg(struct qw_json *j, const char *key, const struct cip_side *s, uint8_t i,
                     unsigned depth)
{
    const struct cip_msg *m = &s->msgs[i];
    bool reply = (m->flags & CIP_M_REPLY) != 0;
    qw_json_obj_begin(j, key);
    qw_json_u64(j, "service", m->service);
    qw_json_str(j, "service_name", m->name ? m->name : "unknown");
    if (!reply && (m->flags & CIP_M_PATH)) json_path(j, s->buf, &m->path);
    if (reply) {
        qw_json_u64(j, "general_status", m->status);
        const char *sn = cip_status_name(m->status);
        qw_json_str(j, "general_status_name", sn ? sn : "unknown");
        if (m->ext_words > 0) {
            struct qw_cursor c = qw_cursor_make(s->buf + m->ext_off, (size_t)m->ext_words * 2);
            qw_json_arr_begin(j, "extended_status");
            for (unsigned k = 0; k < m->ext_words; k++) qw_json_u64(j, NULL, qw_cur_le16(&c));
            qw_json_arr_end(j);
            bool cm = (m->flags & CIP_M_PATH) && (m->path.has & CIP_P_CLASS) &&
                      m->path.class_id == CIP_CLASS_CONNECTION_MANAGER;
            if (cm) {
                struct qw_cursor c0 = qw_cursor_make(s->buf + m->ext_off, 2);
                const char *en = cip_cm_ext_status_name(qw_cur_le16(&c0));
                if (en) qw_json_str(j, "extended_status_name", en);
            }
        }
    }
    if (m->kind != CIP_K_MSP && m->kind != CIP_K_UCSEND) qw_json_u64(j, "data_length", m->data_len);
    if (m->kind == CIP_K_MSP) {
        qw_json_u64(j, "service_count", m->count_declared);
        if (depth < CIP_DEPTH_MAX) {
            qw_json_arr_begin(j, "services");
            for (uint8_t k = m->first_child; k < s->nmsgs && m->first_child != CIP_NONE; k++)
                if (s->msgs[k].parent == i) json_msg(j, NULL, s, k, depth + 1);
            qw_json_arr_end(j);
        }
    } else if (m->kind == CIP_K_UCSEND && s->uc_msg == i) {
        if (!reply) {
            qw_json_u64(j, "priority_time_tick", s->uc.tick);
            qw_json_u64(j, "timeout_ticks", s->uc.timeout_ticks);
            if (s->uc.has_route)
                json_segments(j, "route_path", s->buf, s->uc.route_off, s->uc.route_len);
            if (m->first_child != CIP_NONE && depth < CIP_DEPTH_MAX)
                json_msg(j, "embedded", s, m->first_child, depth + 1);
        } else if (s->uc.has_remaining) {
            qw_json_u64(j, "remaining_path_size", s->uc.remaining_path);
        }
    } else if ((m->kind == CIP_K_FWD_OPEN || m->kind == CIP_K_FWD_CLOSE) && s->fwd_msg == i) {
        json_fwd(j, s);
    } else if (m->kind == CIP_K_PCCC && s->pccc_msg == i) {
        json_pccc(j, &s->pccc);
    }
    if (s->id_msg == i) {
        qw_json_obj_begin(j, "identity");
        cip_write_identity_json(j, &s->id, s->buf);
        qw_json_obj_end(j);
    }
    if (m->flags & CIP_M_TRUNCATED) qw_json_bool(j, "truncated", true);
    qw_json_obj_end(j);
}

void cip_write_json(struct qw_json *j, const char *key, const struct cip_side *s)
{
    if (s->nmsgs == 0) return;
    json_msg(j, key, s, 0, 0);
}
