"""The entities the simulated tenant serves: wire field names and types, routes, picklists.

Field names and types are those of the Swagger ``*Model`` definitions
(``reference/autotask/autotask-rest-v1.swagger.json``; the tests compare every table here with
it). Each table lists ``name:type`` with the type codes

====  =====================  ==========================================
code  Swagger                ``entityInformation/fields`` ``dataType``
====  =====================  ==========================================
``l`` integer, int64         ``long``
``i`` integer, int32         ``integer``
``d`` number, double         ``double``
``s`` string                 ``string``
``t`` string, date-time      ``datetime``
``b`` boolean                ``boolean``
``u`` array of UDFs          (not a field; ``userDefinedFields``)
====  =====================  ==========================================

Which fields are required, read-only or references follows the Autotask entity pages where
reference/autotask.md 7 cites them; the rest is the simulator's choice. String lengths are not
modelled (``length`` is reported as 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COMPANY_TYPES",
    "ENTITIES",
    "PO_STATUSES",
    "EntityDef",
    "FieldDef",
    "FieldType",
    "entity_named",
]

FieldType = Literal["long", "integer", "double", "string", "datetime", "boolean", "udf"]

_CODES: Mapping[str, FieldType] = {
    "l": "long",
    "i": "integer",
    "d": "double",
    "s": "string",
    "t": "datetime",
    "b": "boolean",
    "u": "udf",
}

#: PO status labels (reference/autotask.md 7.9) and this tenant's default integers. Canceled is
#: deliberately not the 5 a secondary source claims: the integers differ between tenants.
PO_STATUSES: Mapping[str, int] = {
    "New": 1,
    "Submitted": 2,
    "Received Partial": 3,
    "Received Full": 4,
    "Canceled": 7,
}
#: Organization types (reference/autotask.md 7.8, Autotask's spelling) and default integers
#: (the common mapping of 7.9).
COMPANY_TYPES: Mapping[str, int] = {
    "Customer": 1,
    "Lead": 2,
    "Prospect": 3,
    "Dead": 4,
    "Cancelation": 6,
    "Vendor": 7,
    "Partner": 8,
}


@dataclass(frozen=True)
class FieldDef:
    """One field of an entity as the API names and types it."""

    name: str
    type: FieldType
    required: bool = False
    read_only: bool = False
    reference: str | None = None
    picklist: bool = False


@dataclass(frozen=True)
class EntityDef:
    """One REST resource (``PurchaseOrders``) and its Swagger model (``PurchaseOrderModel``).

    ``parent`` is ``(parent resource, child path, field holding the parent id)`` for entities
    with a child collection URL, e.g. ``("PurchaseOrders", "Items", "orderID")``.
    ``patchable`` says whether ``PATCH {Entity}`` exists for it in the Swagger.
    """

    name: str
    model: str
    fields: tuple[FieldDef, ...]
    parent: tuple[str, str, str] | None = None
    patchable: bool = False
    _by_key: dict[str, FieldDef] = dataclasses.field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        self._by_key.update({f.name.casefold(): f for f in self.fields})

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name``, ignoring case as Autotask does (reference 4.2)."""
        return self._by_key.get(name.casefold())

    @property
    def names(self) -> tuple[str, ...]:
        """Every field name, in the Swagger's order."""
        return tuple(f.name for f in self.fields)


def _entity(
    name: str,
    model: str,
    table: str,
    *,
    required: frozenset[str] = frozenset(),
    read_only: frozenset[str] = frozenset(),
    references: Mapping[str, str] | None = None,
    picklists: frozenset[str] = frozenset(),
    parent: tuple[str, str, str] | None = None,
    patchable: bool = False,
) -> EntityDef:
    refs = references or {}
    names = {token.split(":")[0] for token in table.split()}
    unknown = (required | read_only | picklists | set(refs)) - names
    assert not unknown, f"{name}: {sorted(unknown)}"
    read_only = read_only | (_AUDIT & names)
    fields = []
    for token in table.split():
        fname, code = token.split(":")
        fields.append(
            FieldDef(
                fname,
                _CODES[code],
                required=fname in required,
                read_only=fname == "id" or fname in read_only,
                reference=refs.get(fname),
                picklist=fname in picklists,
            )
        )
    return EntityDef(name, model, tuple(fields), parent=parent, patchable=patchable)


_AUDIT = frozenset(
    {
        "createDate",
        "createDateTime",
        "createdByResourceID",
        "creatorResourceID",
        "impersonatorCreatorResourceID",
        "lastActivityDate",
        "lastTrackedModifiedDateTime",
    }
)

COMPANIES = _entity(
    "Companies",
    "CompanyModel",
    """
    id:l additionalAddressInformation:s address1:s address2:s alternatePhone1:s
    alternatePhone2:s apiVendorID:i assetValue:d billToCompanyLocationID:i
    billToAdditionalAddressInformation:s billingAddress1:s billingAddress2:s
    billToAddressToUse:i billToAttention:s billToCity:s billToCountryID:i billToState:s
    billToZipCode:s city:s classification:i companyCategoryID:i companyName:s companyNumber:s
    companyType:i competitorID:i countryID:i createDate:t createdByResourceID:i currencyID:i
    fax:s impersonatorCreatorResourceID:i invoiceEmailMessageID:i invoiceMethod:i
    invoiceNonContractItemsToParentCompany:b invoiceTemplateID:i isActive:b
    isClientPortalActive:b isEnabledForComanaged:b isSample:b isTaskFireActive:b isTaxExempt:b
    lastActivityDate:t lastTrackedModifiedDateTime:t marketSegmentID:i ownerResourceID:i
    parentCompanyID:i phone:s postalCode:s purchaseOrderTemplateID:i quoteEmailMessageID:i
    quoteTemplateID:i sicCode:s state:s stockMarket:s stockSymbol:s surveyCompanyRating:d
    taxID:s taxRegionID:i territoryID:i webAddress:s userDefinedFields:u
    """,
    required=frozenset({"companyName", "companyType", "phone", "ownerResourceID"}),
    references={"parentCompanyID": "Company", "ownerResourceID": "Resource"},
    picklists=frozenset({"companyType"}),
    patchable=True,
)

PURCHASE_ORDERS = _entity(
    "PurchaseOrders",
    "PurchaseOrderModel",
    """
    id:l cancelDateTime:t createDateTime:t creatorResourceID:i externalPONumber:s fax:s
    freight:d generalMemo:s impersonatorCreatorResourceID:i internalCurrencyFreight:d
    latestEstimatedArrivalDate:t paymentTerm:i phone:s purchaseForCompanyID:i
    purchaseOrderNumber:s purchaseOrderTemplateID:i shippingDate:t shippingType:i
    shipToAddress1:s shipToAddress2:s shipToCity:s shipToName:s shipToPostalCode:s shipToState:s
    showEachTaxInGroup:b showTaxCategory:b status:i submitDateTime:t taxRegionID:i
    useItemDescriptionsFrom:i vendorID:i vendorInvoiceNumber:s
    """,
    required=frozenset({"vendorID", "status", "shipToName", "shipToAddress1"}),
    read_only=frozenset(
        {"cancelDateTime", "submitDateTime", "latestEstimatedArrivalDate", "purchaseOrderNumber"}
    ),
    references={
        "vendorID": "Company",
        "purchaseForCompanyID": "Company",
        "creatorResourceID": "Resource",
        "taxRegionID": "TaxRegion",
        "shippingType": "ShippingType",
    },
    picklists=frozenset({"status"}),
    patchable=True,
)

PURCHASE_ORDER_ITEMS = _entity(
    "PurchaseOrderItems",
    "PurchaseOrderItemModel",
    """
    id:l chargeID:i contractID:l estimatedArrivalDate:t internalCurrencyUnitCost:d
    inventoryLocationID:i memo:s orderID:i productID:i projectID:l quantity:i salesOrderID:l
    ticketID:l unitCost:d
    """,
    required=frozenset({"orderID", "quantity"}),
    read_only=frozenset({"orderID"}),
    references={
        "orderID": "PurchaseOrder",
        "productID": "Product",
        "inventoryLocationID": "InventoryLocation",
        "ticketID": "Ticket",
        "projectID": "Project",
        "contractID": "Contract",
        "salesOrderID": "SalesOrder",
    },
    parent=("PurchaseOrders", "Items", "orderID"),
)

PURCHASE_ORDER_ITEM_RECEIVING = _entity(
    "PurchaseOrderItemReceiving",
    "PurchaseOrderItemReceivingModel",
    """
    id:l purchaseOrderItemID:l quantityBackOrdered:i quantityNowReceiving:i
    quantityPreviouslyReceived:i receiveDate:t receivedByResourceID:i serialNumber:s
    vendorInvoiceNumber:s
    """,
    required=frozenset({"purchaseOrderItemID", "quantityNowReceiving"}),
    read_only=frozenset(
        {"quantityBackOrdered", "quantityPreviouslyReceived", "receivedByResourceID"}
    ),
    references={"purchaseOrderItemID": "PurchaseOrderItem", "receivedByResourceID": "Resource"},
    parent=("PurchaseOrderItems", "Receiving", "purchaseOrderItemID"),
)

PRODUCTS = _entity(
    "Products",
    "ProductModel",
    """
    id:l billingType:i chargeBillingCodeID:i defaultVendorID:i description:s
    doesNotRequireProcurement:b externalProductID:s impersonatorCreatorResourceID:i
    internalProductID:s isActive:b isEligibleForRma:b isSerialized:b link:s manufacturerName:s
    manufacturerProductName:s markupRate:d msrp:d name:s periodType:i priceCostMethod:i
    productBillingCodeID:i productCategory:i sku:s unitCost:d unitPrice:d vendorProductNumber:s
    defaultInstalledProductCategoryID:i userDefinedFields:u
    """,
    required=frozenset({"name", "isActive", "isSerialized"}),
    references={"defaultVendorID": "Company", "productBillingCodeID": "BillingCode"},
    patchable=True,
)

INVENTORY_LOCATIONS = _entity(
    "InventoryLocations",
    "InventoryLocationModel",
    "id:l impersonatorCreatorResourceID:i isActive:b isDefault:b locationName:s resourceID:i",
    required=frozenset({"locationName", "isActive"}),
    references={"resourceID": "Resource"},
    patchable=True,
)

INVENTORY_ITEMS = _entity(
    "InventoryItems",
    "InventoryItemModel",
    """
    id:l backOrderQuantity:i bin:s impersonatorCreatorResourceID:i inventoryLocationID:i
    productID:i quantityMaximum:i quantityMinimum:i quantityOnHand:i quantityOnOrder:i
    quantityPicked:i quantityReserved:i referenceNumber:s
    """,
    required=frozenset({"productID", "inventoryLocationID", "quantityOnHand"}),
    read_only=frozenset({"quantityOnOrder", "backOrderQuantity", "quantityPicked"}),
    references={"productID": "Product", "inventoryLocationID": "InventoryLocation"},
    patchable=True,
)

INVENTORY_PRODUCTS = _entity(
    "InventoryProducts",
    "InventoryProductModel",
    """
    id:l availableUnits:i backOrderQuantity:i bin:s createDateTime:t createdByResourceID:i
    inventoryLocationID:i onHandUnits:i pickedUnits:i productID:i quantityMaximum:i
    quantityMinimum:i referenceNumber:s reservedUnits:i unitsOnOrder:i
    """,
    required=frozenset({"productID", "inventoryLocationID"}),
    # Since 2022.1 on-hand is computed from stocked items, never written (reference 7.6).
    read_only=frozenset(
        {"availableUnits", "backOrderQuantity", "onHandUnits", "pickedUnits", "reservedUnits"}
        | {"unitsOnOrder"}
    ),
    references={"productID": "Product", "inventoryLocationID": "InventoryLocation"},
    patchable=True,
)

TICKETS = _entity(
    "Tickets",
    "TicketModel",
    """
    id:l apiVendorID:i assignedResourceID:i assignedResourceRoleID:i billingCodeID:i
    changeApprovalBoard:i changeApprovalStatus:i changeApprovalType:i changeInfoField1:s
    changeInfoField2:s changeInfoField3:s changeInfoField4:s changeInfoField5:s companyID:i
    companyLocationID:i completedByResourceID:i completedDate:t configurationItemID:i
    contactID:i contractID:i contractServiceBundleID:l contractServiceID:l createDate:t
    createdByContactID:i creatorResourceID:i creatorType:i currentServiceThermometerRating:i
    description:s dueDateTime:t estimatedHours:d externalID:s firstResponseAssignedResourceID:i
    firstResponseDateTime:t firstResponseDueDateTime:t firstResponseInitiatingResourceID:i
    hoursToBeScheduled:d impersonatorCreatorResourceID:i isAssignedToComanaged:b issueType:i
    isVisibleToComanaged:b lastActivityDate:t lastActivityPersonType:i lastActivityResourceID:i
    lastCustomerNotificationDateTime:t lastCustomerVisibleActivityDateTime:t
    lastTrackedModificationDateTime:t monitorID:l monitorTypeID:i opportunityID:i
    organizationalLevelAssociationID:i previousServiceThermometerRating:i priority:i
    problemTicketId:i projectID:i purchaseOrderNumber:s queueID:i resolution:s
    resolutionPlanDateTime:t resolutionPlanDueDateTime:t resolvedDateTime:t
    resolvedDueDateTime:t rmaStatus:i rmaType:i rmmAlertID:s serviceLevelAgreementHasBeenMet:b
    serviceLevelAgreementID:i serviceLevelAgreementPausedNextEventHours:d
    serviceThermometerTemperature:i source:i status:i subIssueType:i ticketCategory:i
    ticketNumber:s ticketType:i title:s userDefinedFields:u
    """,
    required=frozenset({"companyID", "title", "status", "priority"}),
    read_only=frozenset({"ticketNumber", "lastTrackedModificationDateTime"}),
    references={"companyID": "Company", "projectID": "Project"},
    patchable=True,
)

PROJECTS = _entity(
    "Projects",
    "ProjectModel",
    """
    id:l actualBilledHours:d actualHours:d changeOrdersBudget:d changeOrdersRevenue:d
    companyID:i companyOwnerResourceID:i completedDateTime:t completedPercentage:i contractID:i
    createDateTime:t creatorResourceID:i department:i description:s duration:i endDateTime:t
    estimatedSalesCost:d estimatedTime:d extProjectNumber:s extProjectType:i
    impersonatorCreatorResourceID:i laborEstimatedCosts:d laborEstimatedMarginPercentage:d
    laborEstimatedRevenue:d lastActivityDateTime:t lastActivityPersonType:i
    lastActivityResourceID:i opportunityID:i organizationalLevelAssociationID:i
    originalEstimatedRevenue:d projectCostEstimatedMarginPercentage:d projectCostsBudget:d
    projectCostsRevenue:d projectLeadResourceID:i projectName:s projectNumber:s projectType:i
    purchaseOrderNumber:s sgda:d startDateTime:t status:i statusDateTime:t statusDetail:s
    userDefinedFields:u
    """,
    required=frozenset({"companyID", "projectName", "status", "projectType"}),
    read_only=frozenset({"projectNumber"}),
    references={"companyID": "Company"},
    patchable=True,
)

#: Every entity the simulated tenant serves, by REST resource name.
ENTITIES: Mapping[str, EntityDef] = {
    e.name: e
    for e in (
        COMPANIES,
        PURCHASE_ORDERS,
        PURCHASE_ORDER_ITEMS,
        PURCHASE_ORDER_ITEM_RECEIVING,
        PRODUCTS,
        INVENTORY_LOCATIONS,
        INVENTORY_ITEMS,
        INVENTORY_PRODUCTS,
        TICKETS,
        PROJECTS,
    )
}
_BY_KEY = {name.casefold(): e for name, e in ENTITIES.items()}


def entity_named(name: str) -> EntityDef | None:
    """The entity whose resource name is ``name``, ignoring case (URLs are case-insensitive)."""
    return _BY_KEY.get(name.casefold())
