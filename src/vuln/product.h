/* Whether an inventory asset is the product an advisory names: the vendor, then the model. */
#ifndef QW_VULN_PRODUCT_H
#define QW_VULN_PRODUCT_H

#include <stdbool.h>
#include <stddef.h>

/* Same vendor? `inventory_vendor` as the inventory has it (from a protocol, "Siemens", or from
 * the IEEE registry, "Siemens AG"); `advisory_vendor` as a CSAF vendor branch names it
 * ("Mitsubishi Electric Corporation", "Rockwell Automation"). Case, punctuation and company
 * suffixes do not count. */
bool qw_vendor_same(const char *inventory_vendor, const char *advisory_vendor);

enum qw_product_match {
    QW_PRODUCT_NONE,
    QW_PRODUCT_MODEL_NUMBER, /* the model is one of the leaf's model numbers (an order number) */
    QW_PRODUCT_NAME,         /* the model is named in the product's name */
};

/* Does the asset's model (an order number such as "6ES7 315-2EH14-0AB0", a catalogue number
 * such as "1756-ENBT/A", a model such as "CP1L-EL20DR-D") name this product? `product_name` is
 * the product_name branch of the advisory's tree; `model_numbers` its leaf's
 * product_identification_helper.model_numbers. A model too short or too generic to name a
 * product ("PLC Server") names none. */
enum qw_product_match qw_product_match(const char *asset_model, const char *product_name,
                                       const char *const *model_numbers, size_t nmodel_numbers);

#endif
