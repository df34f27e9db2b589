/* CCTV: the NVR pulls each camera's stream with RTSP 1.0 (RFC 2326) over TCP 554 and the camera
 * sends RTP (RFC 3550) over UDP carrying Motion JPEG (RFC 2435, static payload type 26), at a
 * low-rate recording profile of 2 frames per second.
 *
 * One actor per camera drives both the RTSP control connection and the RTP stream: it keeps a
 * timer for each and fires whichever is due first, so the stream starts right after PLAY. */
#include "synth/actors.h"
#include "synth/tcp.h"
#include "synth/text.h"

#define RTSP_PORT 554
#define RTP_SERVER_PORT 50000
#define RTP_CLIENT_BASE 40000 /* NVR side: one even/odd pair per camera */
#define RTP_PT_JPEG 26
#define FPS 2
#define RTP_CLOCK 90000
#define CHUNK 1400 /* JPEG bytes per packet, keeps the datagram under the MTU */
#define KEEPALIVE_S 30 /* half the 60 s session timeout the camera announces */
#define TEXT_CAP 1400

enum { R_ARP_REQ, R_ARP_REP, R_SYN, R_SYNACK, R_ACK, R_REQ, R_RSP, R_PACK };
enum { M_OPTIONS, M_DESCRIBE, M_SETUP, M_PLAY, M_GET_PARAMETER };
static const char *const methods[] = {"OPTIONS", "DESCRIBE", "SETUP", "PLAY", "GET_PARAMETER"};

struct cam_actor {
    struct sy_actor a;
    struct sy_tcp t;
    struct sy_dev *nvr, *cam;
    int step, method;
    uint64_t rtsp_next, rtp_next;
    unsigned cseq;
    uint32_t session, ssrc, rtptime;
    uint16_t seq, cport;
    unsigned frame_size, frame_off;
    char ip[16];
};

static void url(struct sy_text *t, const struct cam_actor *x, const char *suffix)
{
    sy_text_add(t, "rtsp://%s:%d/stream1/%s", x->ip, RTSP_PORT, suffix);
}

static size_t rtsp_request(struct sy *sy, struct cam_actor *x)
{
    struct sy_text t = sy_text_make(sy_tcp_pl(sy), TEXT_CAP);
    sy_text_add(&t, "%s ", methods[x->method]);
    url(&t, x, x->method == M_SETUP ? "trackID=1" : "");
    sy_text_add(&t, " RTSP/1.0\r\nCSeq: %u\r\nUser-Agent: NVR/4.1\r\n", ++x->cseq);
    switch (x->method) {
    case M_DESCRIBE:
        sy_text_add(&t, "Accept: application/sdp\r\n");
        break;
    case M_SETUP:
        sy_text_add(&t, "Transport: RTP/AVP;unicast;client_port=%u-%u\r\n", x->cport,
                    x->cport + 1u);
        break;
    case M_PLAY:
        sy_text_add(&t, "Session: %08X\r\nRange: npt=0.000-\r\n", x->session);
        break;
    case M_GET_PARAMETER:
        sy_text_add(&t, "Session: %08X\r\n", x->session);
        break;
    default:
        break;
    }
    sy_text_add(&t, "\r\n");
    return t.len;
}

static size_t rtsp_response(struct sy *sy, struct cam_actor *x)
{
    char sdp[512];
    struct sy_text t = sy_text_make(sy_tcp_pl(sy), TEXT_CAP);
    sy_text_add(&t, "RTSP/1.0 200 OK\r\nCSeq: %u\r\nDate: ", x->cseq);
    sy_text_date(&t, sy->out.epoch_s + sy->now / SY_SEC);
    sy_text_add(&t, "\r\n");
    switch (x->method) {
    case M_OPTIONS:
        sy_text_add(&t, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, "
                        "GET_PARAMETER\r\n");
        break;
    case M_DESCRIBE: {
        struct sy_text s = sy_text_make((uint8_t *)sdp, sizeof sdp - 1);
        /* SDP (RFC 8866): one Motion JPEG video track. */
        sy_text_add(&s,
                    "v=0\r\no=- %u 1 IN IP4 %s\r\ns=Live stream\r\nc=IN IP4 0.0.0.0\r\n"
                    "t=0 0\r\na=control:*\r\nm=video 0 RTP/AVP %d\r\na=control:trackID=1\r\n"
                    "a=framerate:%d.0\r\n",
                    x->ssrc, x->ip, RTP_PT_JPEG, FPS);
        sy_text_add(&t, "Content-Base: ");
        url(&t, x, "");
        sy_text_add(&t, "\r\nContent-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%.*s",
                    s.len, (int)s.len, sdp);
        return t.len;
    }
    case M_SETUP:
        sy_text_add(&t,
                    "Session: %08X;timeout=60\r\nTransport: RTP/AVP;unicast;client_port=%u-%u;"
                    "server_port=%d-%d;ssrc=%08X;mode=\"PLAY\"\r\n",
                    x->session, x->cport, x->cport + 1u, RTP_SERVER_PORT, RTP_SERVER_PORT + 1,
                    x->ssrc);
        break;
    case M_PLAY:
        sy_text_add(&t, "Session: %08X\r\nRange: npt=0.000-\r\nRTP-Info: url=", x->session);
        url(&t, x, "trackID=1");
        sy_text_add(&t, ";seq=%u;rtptime=%u\r\n", x->seq, x->rtptime);
        break;
    default:
        sy_text_add(&t, "Session: %08X\r\n", x->session);
        break;
    }
    sy_text_add(&t, "\r\n");
    return t.len;
}

static void rtsp_step(struct sy *sy, struct cam_actor *x)
{
    struct sy_tcp *t = &x->t;
    switch (x->step) {
    case R_ARP_REQ:
        sy_arp_request(sy, x->nvr, x->cam->ip);
        x->step = R_ARP_REP;
        x->rtsp_next = sy->now + sy_jit(sy, 200, 900);
        return;
    case R_ARP_REP:
        sy_arp_reply(sy, x->cam, x->nvr);
        x->step = R_SYN;
        x->rtsp_next = sy->now + sy_jit(sy, 100, 500);
        return;
    case R_SYN:
        sy_tcp_init(sy, t, x->nvr, x->cam, RTSP_PORT);
        sy_tcp_syn(sy, t);
        x->step = R_SYNACK;
        x->rtsp_next = sy->now + sy_jit(sy, 200, 900);
        return;
    case R_SYNACK:
        sy_tcp_synack(sy, t);
        x->step = R_ACK;
        x->rtsp_next = sy->now + sy_jit(sy, 50, 300);
        return;
    case R_ACK:
        sy_tcp_ack(sy, t, SY_C2S);
        x->step = R_REQ;
        x->method = M_OPTIONS;
        x->rtsp_next = sy->now + sy_jit(sy, 300, 2 * SY_MS);
        return;
    case R_REQ:
        sy_tcp_data(sy, t, SY_C2S, rtsp_request(sy, x));
        x->step = R_RSP;
        x->rtsp_next = sy->now + sy_jit(sy, 2 * SY_MS, 15 * SY_MS);
        return;
    case R_RSP:
        sy_tcp_data(sy, t, SY_S2C, rtsp_response(sy, x));
        if (x->method < M_PLAY) {
            x->method++;
            x->step = R_REQ;
            x->rtsp_next = sy->now + sy_jit(sy, 500, 3 * SY_MS);
            return;
        }
        if (x->method == M_PLAY) x->rtp_next = sy->now + sy_jit(sy, 10 * SY_MS, 60 * SY_MS);
        x->step = R_PACK;
        x->rtsp_next = sy->now + 40 * SY_MS; /* Linux delayed ACK */
        return;
    default: /* R_PACK */
        sy_tcp_ack(sy, t, SY_C2S);
        x->step = R_REQ;
        x->method = M_GET_PARAMETER;
        x->rtsp_next = sy->now + KEEPALIVE_S * SY_SEC + sy_jit(sy, 0, 500 * SY_MS);
        return;
    }
}

/* One RTP packet: 12-byte RTP header, 8-byte JPEG header (RFC 2435 3.1), JPEG bytes from the
 * pool. Frames are split into CHUNK-sized fragments; the marker bit ends a frame. */
static void rtp_step(struct sy *sy, struct cam_actor *x)
{
    if (x->frame_off == 0) x->frame_size = 2 * (unsigned)sy_range(&sy->rng, 2000, 4500);
    unsigned len = x->frame_size - x->frame_off;
    if (len > CHUNK) len = CHUNK;
    bool last = x->frame_off + len == x->frame_size;
    uint8_t *p = sy_udp_pl(sy);
    p[0] = 0x80; /* version 2, no padding, extension or CSRCs */
    p[1] = (uint8_t)((last ? 0x80 : 0) | RTP_PT_JPEG);
    sy_put16(p + 2, x->seq++);
    sy_put32(p + 4, x->rtptime);
    sy_put32(p + 8, x->ssrc);
    uint8_t *j = p + 12;
    sy_put32(j, x->frame_off); /* type-specific 0, 24-bit fragment offset */
    j[4] = 1;    /* type 1: 4:2:0 baseline */
    j[5] = 60;   /* quality factor, below 128: no in-band quantisation tables */
    j[6] = 640 / 8;
    j[7] = 360 / 8;
    uint64_t tail = sy_pool_fill(&sy->pool, &sy->rng, p + 20, len);
    struct sy_l3 h;
    sy_route(&sy->m, x->cam, x->nvr, &h);
    h.dscp_ecn = 0x88; /* AF41, the usual marking for video */
    sy_send_udp_tail(sy, &h, RTP_SERVER_PORT, x->cport, 20 + len, 20, tail);
    if (last) {
        x->frame_off = 0;
        x->rtptime += RTP_CLOCK / FPS;
        x->rtp_next = sy->now + SY_SEC / FPS - 2 * SY_MS + sy_jit(sy, 0, 4 * SY_MS);
    } else {
        x->frame_off += len;
        x->rtp_next = sy->now + sy_jit(sy, 80, 300);
    }
}

static void fire(struct sy *sy, struct sy_actor *a)
{
    struct cam_actor *x = (struct cam_actor *)a;
    if (x->rtp_next <= x->rtsp_next) rtp_step(sy, x);
    else rtsp_step(sy, x);
    a->next = x->rtp_next < x->rtsp_next ? x->rtp_next : x->rtsp_next;
}

struct sy_actor *sy_camera_actors(struct sy *sy, struct sy_dev *nvr, struct sy_dev *cam,
                                  uint64_t start)
{
    struct cam_actor *x = sy_actor_new(sy, sizeof *x, fire, start);
    if (!x) return NULL;
    x->nvr = nvr;
    x->cam = cam;
    x->step = R_ARP_REQ;
    x->rtsp_next = start;
    x->rtp_next = SY_NEVER;
    x->session = (uint32_t)sy_rand(&sy->rng);
    x->ssrc = (uint32_t)sy_rand(&sy->rng);
    x->seq = (uint16_t)sy_rand(&sy->rng);
    x->rtptime = (uint32_t)sy_rand(&sy->rng);
    x->cport = (uint16_t)(RTP_CLIENT_BASE + 2 * (cam->index % 4096));
    struct sy_text t = sy_text_make((uint8_t *)x->ip, sizeof x->ip - 1);
    sy_text_add(&t, "%u.%u.%u.%u", cam->ip >> 24, (cam->ip >> 16) & 255, (cam->ip >> 8) & 255,
                cam->ip & 255);
    return &x->a;
}
