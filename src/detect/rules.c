/* The detection catalogue: one line per rule. Names and ids are stable (alert.rule,
 * alert.signature_id); docs/detections.md documents each. */
#include <string.h>

#include "detect/detect.h"

const char *const qw_severity_names[5] = {"info", "low", "medium", "high", "critical"};

const struct qw_rule_info qw_rules[QW_R_COUNT] = {
    [QW_R_ASSET_NEW] = {"asset.new", 9100001, QW_SEV_MEDIUM, "inventory",
                        "a device the baseline does not know"},
    [QW_R_ASSET_GONE] = {"asset.gone", 9100002, QW_SEV_LOW, "inventory",
                         "a baseline device has not been seen for the gone delay"},
    [QW_R_ASSET_MAC_CHANGED] = {"asset.mac_changed", 9100003, QW_SEV_HIGH, "inventory",
                                "another device now answers for a baseline device's address"},
    [QW_R_ASSET_VENDOR_CHANGED] = {"asset.vendor_changed", 9100004, QW_SEV_HIGH, "inventory",
                                   "a device reports another vendor than in the baseline"},
    [QW_R_ASSET_IDENTITY_CHANGED] = {"asset.identity_changed", 9100005, QW_SEV_MEDIUM,
                                     "inventory",
                                     "model, firmware or serial differs from the baseline"},
    [QW_R_ASSET_ROLE_CHANGED] = {"asset.role_changed", 9100006, QW_SEV_LOW, "inventory",
                                 "a device now acts in another role"},
    [QW_R_COMM_NEW_EDGE] = {"comm.new_edge", 9100007, QW_SEV_LOW, "communication",
                            "two devices talk that never did in the baseline"},
    [QW_R_COMM_NEW_PROTOCOL] = {"comm.new_protocol", 9100008, QW_SEV_LOW, "communication",
                                "a known pair uses a new protocol or port"},
    [QW_R_COMM_NEW_OPERATION] = {"comm.new_operation", 9100009, QW_SEV_MEDIUM, "communication",
                                 "a new class of operation on a known connection"},
    [QW_R_POLICY_CONDUIT] = {"policy.conduit_violation", 9100010, QW_SEV_HIGH, "policy",
                             "a flow between zones that no conduit allows"},
    [QW_R_POLICY_UNKNOWN_ZONE] = {"policy.unknown_zone", 9100011, QW_SEV_LOW, "policy",
                                  "a host in no declared zone talks to a zoned one"},
    [QW_R_POLICY_UNOWNED] = {"policy.unowned_asset", 9100012, QW_SEV_MEDIUM, "policy",
                             "nobody answers for a device"},
    [QW_R_REMOTE_ACCESS] = {"remote.access", 9100013, QW_SEV_MEDIUM, "remote-access",
                            "a remote-access session into an OT zone"},
    [QW_R_REMOTE_OUTSIDE_WINDOW] = {"remote.outside_window", 9100014, QW_SEV_HIGH,
                                    "remote-access",
                                    "remote access outside the allowed windows"},
    [QW_R_REMOTE_BYPASS_JUMP] = {"remote.bypass_jump_host", 9100015, QW_SEV_HIGH,
                                 "remote-access",
                                 "a remote session reaches an OT zone without a jump host"},
    [QW_R_REMOTE_VPN] = {"remote.vpn_session", 9100016, QW_SEV_INFO, "remote-access",
                         "a VPN session (IKE/ESP, OpenVPN, WireGuard)"},
    [QW_R_ICS_WRITE] = {"ics.write", 9100017, QW_SEV_MEDIUM, "ics",
                        "process data written by a host that does not normally write it"},
    [QW_R_ICS_PROGRAM] = {"ics.program", 9100018, QW_SEV_HIGH, "ics",
                          "controller logic uploaded, downloaded or changed"},
    [QW_R_ICS_CPU_STATE] = {"ics.cpu_state", 9100019, QW_SEV_CRITICAL, "ics",
                            "a controller was put in stop or run"},
    [QW_R_ICS_RESTART] = {"ics.restart", 9100020, QW_SEV_HIGH, "ics",
                          "a controller or device was restarted (cold or warm)"},
    [QW_R_ICS_FIRMWARE] = {"ics.firmware", 9100021, QW_SEV_HIGH, "ics",
                           "a firmware update operation"},
    [QW_R_ICS_CONFIG] = {"ics.config", 9100022, QW_SEV_HIGH, "ics",
                         "device configuration changed over an industrial protocol"},
    [QW_R_RECON_SCAN] = {"recon.scan", 9100023, QW_SEV_HIGH, "reconnaissance",
                         "a host sweep or port scan"},
    [QW_R_RECON_ICS_DISCOVERY] = {"recon.ics_discovery", 9100024, QW_SEV_MEDIUM,
                                  "reconnaissance",
                                  "industrial device discovery (List Identity, Who-Is, SZL)"},
    [QW_R_CRED_PLAINTEXT] = {"cred.plaintext", 9100025, QW_SEV_HIGH, "credentials",
                             "credentials sent in clear text"},
    [QW_R_PROTO_MALFORMED] = {"proto.malformed", 9100026, QW_SEV_LOW, "protocol",
                              "malformed protocol data"},
    [QW_R_NET_ARP_CONFLICT] = {"net.arp_conflict", 9100027, QW_SEV_MEDIUM, "network",
                               "an address claimed by two MACs, or ARP replies whose sender is "
                               "not the frame's source (a swap, a misconfiguration or spoofing)"},
    [QW_R_PROTO_WEAK_SECURITY] = {"proto.weak_security", 9100028, QW_SEV_LOW, "protocol",
                                  "a service without authentication, or with deprecated "
                                  "protocol versions, algorithms or key exchanges"},
    [QW_R_REMOTE_UNSANCTIONED_VPN] = {"remote.unsanctioned_vpn", 9100029, QW_SEV_HIGH,
                                      "remote-access",
                                      "a VPN tunnel ends inside a remote-access target zone, "
                                      "around the VPN gateway, the jump host and the windows"},
    [QW_R_NET_CONFIG_CHANGED] = {"net.config_changed", 9100030, QW_SEV_HIGH, "network",
                                 "a device reported in its log that its configuration was "
                                 "changed"},
    [QW_R_NET_DEVICE_RESTARTED] = {"net.device_restarted", 9100031, QW_SEV_MEDIUM, "network",
                                   "a device reported in its log that it is restarting or "
                                   "restarted"},
    [QW_R_CRED_GUESSING] = {"cred.guessing", 9100032, QW_SEV_HIGH, "credentials",
                            "repeated failed logins from one address to one device (password "
                            "guessing)"},
    /* the severity of vuln.affected is the CVSS rating of the advisory's worst CVE */
    [QW_R_VULN_AFFECTED] = {"vuln.affected", 9100033, QW_SEV_MEDIUM, "vulnerability",
                            "a device's model and firmware are among the products a security "
                            "advisory names as affected"},
    [QW_R_VULN_POSSIBLY_AFFECTED] = {"vuln.possibly_affected", 9100034, QW_SEV_LOW,
                                     "vulnerability",
                                     "a device's model is named by a security advisory, but its "
                                     "firmware was not seen or the affected versions cannot be "
                                     "read"},
};

/* The weaknesses parsers report whose name does not say ".weak_", and those that deserve more
 * than low. Severity is how much the weakness alone opens the device to someone already on
 * the network: an HMI's screen with no password is handed over; SMB1 and NTLMv1 are what
 * worms and relay attacks use; a self-signed certificate is the norm on device web servers and
 * only informs. */
static const struct qw_weakness {
    const char *anomaly;
    uint8_t severity;
} qw_weaknesses[] = {
    {"vnc.no_authentication", QW_SEV_HIGH},
    {"rdp.no_nla", QW_SEV_MEDIUM},
    {"rdp.weak_encryption", QW_SEV_MEDIUM},
    {"smb.smb1", QW_SEV_MEDIUM},
    {"smb.ntlmv1", QW_SEV_MEDIUM},
    {"ssh.old_protocol", QW_SEV_MEDIUM},
    {"ike.weak_aggressive_mode", QW_SEV_MEDIUM},
    /* BlastRADIUS (CVE-2024-3596): someone in the path forges an Access-Accept */
    {"radius.weak_no_message_authenticator", QW_SEV_MEDIUM},
    {"tls.self_signed_certificate", QW_SEV_INFO},
    {"tls.expired_certificate", QW_SEV_LOW},
    {"tls.certificate_not_yet_valid", QW_SEV_LOW},
};

int qw_weakness_severity(const char *anomaly)
{
    for (size_t i = 0; i < sizeof qw_weaknesses / sizeof qw_weaknesses[0]; i++)
        if (strcmp(qw_weaknesses[i].anomaly, anomaly) == 0) return qw_weaknesses[i].severity;
    return strstr(anomaly, ".weak_") ? QW_SEV_LOW : -1;
}

int qw_rule_find(const char *name)
{
    for (int i = 0; i < QW_R_COUNT; i++)
        if (strcmp(qw_rules[i].name, name) == 0) return i;
    return -1;
}
