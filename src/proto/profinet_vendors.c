/* PROFINET vendor ids. Only ids checked against public evidence are listed:
 *   0x002A Siemens: Siemens GSDML files and order numbers 6ES7... map to 0x002A
 *          (OpenCommissioning/OC_ProfinetDeviceIds, DeviceIds.json); corpus:
 *          icsnpp_profinet_io_cm_read.pcapng PN-IO object UUID ...-000000fa002a.
 *   0x00B0 Phoenix Contact: corpus icsnpp_profinet_io_cm_* PN-IO object UUID ...-0001003c00b0
 *          between a Phoenix Contact controller (OUI 00:a0:45) and its device.
 *   0x010C HMS Industrial Networks: the Anybus GSDML in DeviceIds.json maps to 0x010C.
 *   0x015A GE Intelligent Platforms (now Emerson): corpus icsnpp_profinet_io_cm_mixed_2 frame
 *          440, an Identify response from OUI 00:09:91 ("Intelligent Platforms") with type of
 *          station IC200PNS001 (a VersaMax PROFINET scanner) and VendorID 0x015A.
 *   0x0493 rt-labs: the p-net stack's sample GSDML (APP_GSDML_VENDOR_ID); corpus: PN-IO object
 *          UUIDs ...-000100020493 from a Raspberry Pi running it.
 * tshark 4.0 prints VendorID in hex without a name, so it cannot confirm these. */
#include "proto/profinet_vendors.h"

#include <stddef.h>

static const struct {
    uint16_t id;
    const char *name;
} profinet_vendors[] = {
    {0x002A, "Siemens"},
    {0x00B0, "Phoenix Contact"},
    {0x010C, "HMS Industrial Networks"},
    {0x015A, "GE Intelligent Platforms"},
    {0x0493, "rt-labs"},
};

const char *qw_profinet_vendor_name(uint16_t id)
{
    for (size_t i = 0; i < sizeof profinet_vendors / sizeof profinet_vendors[0]; i++)
        if (profinet_vendors[i].id == id) return profinet_vendors[i].name;
    return NULL;
}
