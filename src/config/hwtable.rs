//! The hardware table built into multipath-tools 0.9.4.
//!
//! Each row gives the settings multipath-tools compiles in for one family
//! of storage arrays, keyed by POSIX extended regexes on the SCSI INQUIRY
//! vendor and product. Rows keep multipath-tools' order, because when
//! several rows match a device the later one wins field by field.
//!
//! The table is static data in a compact form (small enums instead of
//! strings where the values repeat); [`builtin`] turns it into ordinary
//! [`DeviceEntry`] values once per run, so matching code never sees the
//! difference between built-in and configured entries.

use crate::config::{Attrs, DeviceEntry, NoPathRetry, Origin, Passive, RrWeight};
use crate::group::Policy;

/// Where the table comes from, for the README and `-t` output.
pub const HWTABLE_VERSION: &str = "multipath-tools 0.9.4 libmultipath/hwtable.c";

/// The built-in device entries, in multipath-tools' order.
pub fn builtin() -> Vec<DeviceEntry> {
    TABLE.iter().map(Row::to_entry).collect()
}

/// `path_checker` values the table uses.
#[derive(Clone, Copy)]
enum Checker {
    None,
    Directio,
    Rdac,
    EmcClariion,
    HpSw,
}

impl Checker {
    fn name(self) -> &'static str {
        match self {
            Checker::None => "none",
            Checker::Directio => "directio",
            Checker::Rdac => "rdac",
            Checker::EmcClariion => "emc_clariion",
            Checker::HpSw => "hp_sw",
        }
    }
}

/// `prio` values the table uses.
#[derive(Clone, Copy)]
enum Prio {
    Alua,
    Rdac,
    Emc,
    Hds,
    HpSw,
    Ontap,
}

impl Prio {
    fn name(self) -> &'static str {
        match self {
            Prio::Alua => "alua",
            Prio::Rdac => "rdac",
            Prio::Emc => "emc",
            Prio::Hds => "hds",
            Prio::HpSw => "hp_sw",
            Prio::Ontap => "ontap",
        }
    }
}

/// `hardware_handler` values the table uses (kernel scsi_dh modules).
#[derive(Clone, Copy)]
enum Handler {
    Alua,
    Rdac,
    Emc,
    HpSw,
}

impl Handler {
    fn text(self) -> &'static str {
        match self {
            Handler::Alua => "1 alua",
            Handler::Rdac => "1 rdac",
            Handler::Emc => "1 emc",
            Handler::HpSw => "1 hp_sw",
        }
    }
}

/// `features` values the table uses.
#[derive(Clone, Copy)]
enum Features {
    /// Let the rdac handler retry path-group initialisation 50 times.
    PgInitRetries50,
}

impl Features {
    fn text(self) -> &'static str {
        match self {
            Features::PgInitRetries50 => "2 pg_init_retries 50",
        }
    }
}

/// `uid_attribute` values the table uses (udev properties holding the WWID).
#[derive(Clone, Copy)]
enum UidAttribute {
    IdWwn,
    IdUid,
}

impl UidAttribute {
    fn name(self) -> &'static str {
        match self {
            UidAttribute::IdWwn => "ID_WWN",
            UidAttribute::IdUid => "ID_UID",
        }
    }
}

/// `path_selector` values the table uses.
#[derive(Clone, Copy)]
enum Selector {
    RoundRobin0,
}

impl Selector {
    fn text(self) -> &'static str {
        match self {
            Selector::RoundRobin0 => "round-robin 0",
        }
    }
}

/// `failback` values the table uses.
#[derive(Clone, Copy)]
enum Failback {
    Immediate,
    /// Fail back this many seconds after a better group returns.
    Seconds(u16),
}

/// `dev_loss_tmo` values the table uses.
#[derive(Clone, Copy)]
enum DevLoss {
    /// multipath-tools' largest value, printed as `infinity`.
    Infinity,
    Seconds(u16),
}

/// `vpd_vendor` values the table uses.
#[derive(Clone, Copy)]
enum VpdVendor {
    /// HPE 3PAR's VPD page 0xc0.
    Hp3par,
}

impl VpdVendor {
    fn name(self) -> &'static str {
        match self {
            VpdVendor::Hp3par => "hp3par",
        }
    }
}

/// One row of the table: only the fields multipath-tools' rows set.
/// Revision, prio_args, alias_prefix, detect_prio and
/// retain_attached_hw_handler are never set by a 0.9.4 row.
struct Row {
    vendor: &'static str,
    product: &'static str,
    product_blacklist: Option<&'static str>,
    policy: Option<Policy>,
    uid_attribute: Option<UidAttribute>,
    selector: Option<Selector>,
    checker: Option<Checker>,
    features: Option<Features>,
    handler: Option<Handler>,
    prio: Option<Prio>,
    failback: Option<Failback>,
    rr_weight: Option<RrWeight>,
    no_path_retry: Option<NoPathRetry>,
    rr_min_io: Option<u16>,
    rr_min_io_rq: Option<u16>,
    flush_on_last_del: Option<bool>,
    fast_io_fail_tmo: Option<u16>,
    dev_loss_tmo: Option<DevLoss>,
    user_friendly_names: Option<bool>,
    detect_checker: Option<bool>,
    max_sectors_kb: Option<u16>,
    vpd_vendor: Option<VpdVendor>,
}

/// A row that sets nothing; every table row starts from this or from a
/// family below and names only what differs.
const UNSET: Row = Row {
    vendor: "",
    product: "",
    product_blacklist: None,
    policy: None,
    uid_attribute: None,
    selector: None,
    checker: None,
    features: None,
    handler: None,
    prio: None,
    failback: None,
    rr_weight: None,
    no_path_retry: None,
    rr_min_io: None,
    rr_min_io_rq: None,
    flush_on_last_del: None,
    fast_io_fail_tmo: None,
    dev_loss_tmo: None,
    user_friendly_names: None,
    detect_checker: None,
    max_sectors_kb: None,
    vpd_vendor: None,
};

/// The LSI/Engenio (NetApp E-Series) RDAC controllers sold under many
/// names: 25 rows of multipath-tools' table set exactly these values.
const RDAC_ARRAY: Row = Row {
    product_blacklist: Some("Universal Xport"),
    policy: Some(Policy::GroupByPrio),
    checker: Some(Checker::Rdac),
    features: Some(Features::PgInitRetries50),
    handler: Some(Handler::Rdac),
    prio: Some(Prio::Rdac),
    failback: Some(Failback::Immediate),
    no_path_retry: Some(NoPathRetry::Retries(30)),
    ..UNSET
};

/// Arrays grouped by ALUA priority that fail back at once; rows add
/// their own handler, retry count and timeouts.
const ALUA_ARRAY: Row = Row {
    policy: Some(Policy::GroupByPrio),
    prio: Some(Prio::Alua),
    failback: Some(Failback::Immediate),
    ..UNSET
};

/// multipath-tools' `default_hw`, row for row. `no_path_retry` 60 is its
/// `300 / DEFAULT_CHECKINT` with the 5-second checker interval.
#[rustfmt::skip]
static TABLE: &[Row] = &[
    // Generic NVMe devices
    Row { vendor: "NVM[eE]", product: ".*", policy: Some(Policy::GroupByPrio),
        uid_attribute: Some(UidAttribute::IdWwn), checker: Some(Checker::None),
        failback: Some(Failback::Immediate), ..UNSET },
    // Apple
    Row { vendor: "APPLE", product: "Xserve RAID", policy: Some(Policy::Multibus), ..UNSET },
    // HPE
    Row { vendor: "3PARdata", product: "VV", handler: Some(Handler::Alua),
        no_path_retry: Some(NoPathRetry::Retries(18)), fast_io_fail_tmo: Some(10),
        dev_loss_tmo: Some(DevLoss::Infinity), vpd_vendor: Some(VpdVendor::Hp3par), ..ALUA_ARRAY },
    Row { vendor: "NVME", product: "HPE Alletra", no_path_retry: Some(NoPathRetry::Queue),
        ..UNSET },
    Row { vendor: "DEC", product: "HSG80", policy: Some(Policy::GroupByPrio),
        checker: Some(Checker::HpSw), handler: Some(Handler::HpSw), prio: Some(Prio::HpSw),
        no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    Row { vendor: "HP", product: "A6189A", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(12)), ..UNSET },
    Row { vendor: "(COMPAQ|HP)", product: "(MSA|HSV)1[01]0", policy: Some(Policy::GroupByPrio),
        checker: Some(Checker::HpSw), handler: Some(Handler::HpSw), prio: Some(Prio::HpSw),
        no_path_retry: Some(NoPathRetry::Retries(12)), ..UNSET },
    Row { vendor: "(COMPAQ|HP)", product: "MSA VOLUME",
        no_path_retry: Some(NoPathRetry::Retries(12)), ..ALUA_ARRAY },
    Row { vendor: "(COMPAQ|HP)", product: "(HSV1[01]1|HSV2[01]0|HSV3[046]0|HSV4[05]0)",
        no_path_retry: Some(NoPathRetry::Retries(12)), ..ALUA_ARRAY },
    Row { vendor: "HP", product: "(MSA2[02]12fc|MSA2012i)", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(18)), ..UNSET },
    Row { vendor: "HP", product: "(MSA2012sa|MSA23(12|24)(fc|i|sa)|MSA2000s VOLUME)",
        no_path_retry: Some(NoPathRetry::Retries(18)), ..ALUA_ARRAY },
    Row { vendor: "(HP|HPE)", product: "MSA [12]0[456]0 (SAN|SAS|FC|iSCSI)",
        no_path_retry: Some(NoPathRetry::Retries(18)), ..ALUA_ARRAY },
    Row { vendor: "HP", product: "(HSVX700|HSVX740)", handler: Some(Handler::Alua),
        no_path_retry: Some(NoPathRetry::Retries(12)), ..ALUA_ARRAY },
    Row { vendor: "HP", product: "LOGICAL VOLUME", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(12)), ..UNSET },
    Row { vendor: "HP", product: "(P2000 G3 FC|P2000G3 FC/iSCSI|P2000 G3 SAS|P2000 G3 iSCSI)",
        no_path_retry: Some(NoPathRetry::Retries(18)), ..ALUA_ARRAY },
    Row { vendor: "LEFTHAND", product: "(P4000|iSCSIDisk|FCDISK)",
        no_path_retry: Some(NoPathRetry::Retries(18)), ..ALUA_ARRAY },
    Row { vendor: "Nimble", product: "Server", handler: Some(Handler::Alua),
        no_path_retry: Some(NoPathRetry::Queue), ..ALUA_ARRAY },
    // SGI
    Row { vendor: "SGI", product: "TP9100", policy: Some(Policy::Multibus), ..UNSET },
    Row { vendor: "SGI", product: "TP9[3457]00", ..RDAC_ARRAY },
    Row { vendor: "SGI", product: "IS", ..RDAC_ARRAY },
    Row { vendor: "SGI", product: "^DD[46]A-", no_path_retry: Some(NoPathRetry::Retries(30)),
        ..ALUA_ARRAY },
    // DataDirect Networks
    Row { vendor: "DDN", product: "SAN DataDirector", policy: Some(Policy::Multibus), ..UNSET },
    Row { vendor: "DDN", product: "^EF3010", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..UNSET },
    Row { vendor: "DDN", product: "^(EF3015|S2A|SFA)",
        no_path_retry: Some(NoPathRetry::Retries(30)), ..ALUA_ARRAY },
    // Nexenta
    Row { vendor: "NEXENTA", product: "COMSTAR", policy: Some(Policy::GroupBySerial),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..UNSET },
    // Tegile
    Row { vendor: "TEGILE", product: "(ZEBI-(FC|ISCSI)|INTELLIFLASH)",
        handler: Some(Handler::Alua), no_path_retry: Some(NoPathRetry::Retries(10)),
        ..ALUA_ARRAY },
    // Dell EMC
    Row { vendor: "EMC", product: "SYMMETRIX", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(6)), ..UNSET },
    Row { vendor: "NVME", product: "EMC PowerMax", no_path_retry: Some(NoPathRetry::Queue),
        ..UNSET },
    Row { vendor: "^DGC", product: "^(RAID|DISK|VRAID)", product_blacklist: Some("LUNZ"),
        policy: Some(Policy::GroupByPrio), checker: Some(Checker::EmcClariion),
        handler: Some(Handler::Emc), prio: Some(Prio::Emc), failback: Some(Failback::Immediate),
        no_path_retry: Some(NoPathRetry::Retries(60)), detect_checker: Some(false), ..UNSET },
    Row { vendor: "EMC", product: "Invista", product_blacklist: Some("LUNZ"),
        policy: Some(Policy::Multibus), no_path_retry: Some(NoPathRetry::Retries(5)), ..UNSET },
    Row { vendor: "XtremIO", product: "XtremApp", policy: Some(Policy::Multibus), ..UNSET },
    Row { vendor: "COMPELNT", product: "Compellent Vol", policy: Some(Policy::GroupByPrio),
        failback: Some(Failback::Immediate), no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    Row { vendor: "DELL", product: "^MD3", ..RDAC_ARRAY },
    Row { vendor: "DellEMC", product: "PowerStore", handler: Some(Handler::Alua),
        no_path_retry: Some(NoPathRetry::Retries(3)), fast_io_fail_tmo: Some(15), ..ALUA_ARRAY },
    Row { vendor: ".*", product: "dellemc-powerstore",
        no_path_retry: Some(NoPathRetry::Retries(3)), ..UNSET },
    Row { vendor: "DellEMC", product: "^ME", handler: Some(Handler::Alua), ..ALUA_ARRAY },
    // Fujitsu
    Row { vendor: "FSC", product: "CentricStor", policy: Some(Policy::GroupBySerial), ..UNSET },
    Row { vendor: "FUJITSU", product: "ETERNUS_DX(H|L|M|400|8000)",
        no_path_retry: Some(NoPathRetry::Retries(10)), ..ALUA_ARRAY },
    Row { vendor: "(EUROLOGC|EuroLogc)", product: "FC2502", policy: Some(Policy::Multibus),
        ..UNSET },
    Row { vendor: "FUJITSU", product: "E[234]000", no_path_retry: Some(NoPathRetry::Retries(10)),
        ..ALUA_ARRAY },
    Row { vendor: "FUJITSU", product: "E[68]000", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(10)), ..UNSET },
    Row { vendor: "FUJITSU", product: "ETERNUS_AHB", ..RDAC_ARRAY },
    // Hitachi Vantara
    Row { vendor: "(HITACHI|HP|HPE)", product: "^OPEN-", policy: Some(Policy::Multibus), ..UNSET },
    Row { vendor: "HITACHI", product: "^DF", policy: Some(Policy::GroupByPrio),
        prio: Some(Prio::Hds), failback: Some(Failback::Immediate),
        no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    Row { vendor: "HITACHI", product: "^DF600F", policy: Some(Policy::Multibus), ..UNSET },
    // IBM
    Row { vendor: "IBM", product: "ProFibre 4000R", policy: Some(Policy::Multibus), ..UNSET },
    Row { vendor: "IBM", product: "^1722-600", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^1724", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^1726", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^1742", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^1746", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^1813", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^1814", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^1815", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^1818", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^3526", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^(3542|3552)", ..RDAC_ARRAY },
    Row { vendor: "IBM", product: "^2105", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    Row { vendor: "IBM", product: "^1750500", no_path_retry: Some(NoPathRetry::Queue),
        ..ALUA_ARRAY },
    Row { vendor: "IBM", product: "^2107900", policy: Some(Policy::GroupByPrio),
        failback: Some(Failback::Immediate), no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    Row { vendor: "IBM", product: "^2145", no_path_retry: Some(NoPathRetry::Queue), ..ALUA_ARRAY },
    Row { vendor: "NVME", product: "IBM[ ]+2145", no_path_retry: Some(NoPathRetry::Queue),
        ..UNSET },
    Row { vendor: "IBM", product: "S/390 DASD ECKD", product_blacklist: Some("S/390"),
        policy: Some(Policy::Multibus), uid_attribute: Some(UidAttribute::IdUid),
        checker: Some(Checker::Directio), no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    Row { vendor: "IBM", product: "S/390 DASD FBA", product_blacklist: Some("S/390"),
        policy: Some(Policy::Multibus), uid_attribute: Some(UidAttribute::IdUid),
        checker: Some(Checker::Directio), no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    Row { vendor: "IBM", product: "^IPR", handler: Some(Handler::Alua),
        no_path_retry: Some(NoPathRetry::Queue), ..ALUA_ARRAY },
    Row { vendor: "IBM", product: "1820N00", no_path_retry: Some(NoPathRetry::Queue),
        ..ALUA_ARRAY },
    Row { vendor: "(XIV|IBM)", product: "(NEXTRA|2810XIV)", policy: Some(Policy::GroupByPrio),
        failback: Some(Failback::Seconds(15)), no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    Row { vendor: "(TMS|IBM)", product: "(RamSan|FlashSystem)", policy: Some(Policy::Multibus),
        ..UNSET },
    Row { vendor: "NVMe", product: "FlashSystem", no_path_retry: Some(NoPathRetry::Fail),
        ..UNSET },
    Row { vendor: "IBM", product: "^(DCS9900|2851)", no_path_retry: Some(NoPathRetry::Retries(30)),
        ..ALUA_ARRAY },
    Row { vendor: "AIX", product: "VDASD", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(60)), ..UNSET },
    Row { vendor: "IBM", product: "3303[ ]+NVDISK", no_path_retry: Some(NoPathRetry::Retries(60)),
        ..UNSET },
    Row { vendor: "AIX", product: "NVDISK", handler: Some(Handler::Alua),
        no_path_retry: Some(NoPathRetry::Retries(60)), ..ALUA_ARRAY },
    // Lenovo
    Row { vendor: "LENOVO", product: "DE_Series", ..RDAC_ARRAY },
    // NetApp
    Row { vendor: "NETAPP", product: "LUN", policy: Some(Policy::GroupByPrio),
        features: Some(Features::PgInitRetries50), prio: Some(Prio::Ontap),
        failback: Some(Failback::Immediate), no_path_retry: Some(NoPathRetry::Queue),
        flush_on_last_del: Some(true), dev_loss_tmo: Some(DevLoss::Infinity),
        user_friendly_names: Some(false), ..UNSET },
    Row { vendor: "(NETAPP|LSI|ENGENIO)", product: "INF-01-00", ..RDAC_ARRAY },
    Row { vendor: "SolidFir", product: "SSD SAN", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(24)), ..UNSET },
    Row { vendor: "NVME", product: "^NetApp ONTAP Controller",
        no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    // NEC
    Row { vendor: "NEC", product: "DISK ARRAY", handler: Some(Handler::Alua), ..ALUA_ARRAY },
    // Oracle
    Row { vendor: "^Pillar", product: "^Axiom", ..ALUA_ARRAY },
    Row { vendor: "^Oracle", product: "^Oracle FS", ..ALUA_ARRAY },
    // Sun - StorageTek
    Row { vendor: "STK", product: "BladeCtlr", ..RDAC_ARRAY },
    Row { vendor: "STK", product: "OPENstorage", ..RDAC_ARRAY },
    Row { vendor: "STK", product: "FLEXLINE 380", ..RDAC_ARRAY },
    Row { vendor: "SUN", product: "StorEdge 3", policy: Some(Policy::Multibus), ..UNSET },
    Row { vendor: "SUN", product: "STK6580_6780", ..RDAC_ARRAY },
    Row { vendor: "SUN", product: "CSM[12]00_R", ..RDAC_ARRAY },
    Row { vendor: "SUN", product: "LCSM100_[IEFS]", ..RDAC_ARRAY },
    Row { vendor: "SUN", product: "SUN_6180", ..RDAC_ARRAY },
    Row { vendor: "SUN", product: "ArrayStorage", ..RDAC_ARRAY },
    Row { vendor: "SUN", product: "(Sun Storage|ZFS Storage|COMSTAR)",
        no_path_retry: Some(NoPathRetry::Retries(30)), ..ALUA_ARRAY },
    // Pivot3
    Row { vendor: "PIVOT3", product: "RAIGE VOLUME", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Queue), ..UNSET },
    Row { vendor: "(NexGen|Pivot3)", product: "(TierStore|vSTAC)",
        no_path_retry: Some(NoPathRetry::Queue), ..ALUA_ARRAY },
    // Intel
    Row { vendor: "(Intel|INTEL)", product: "Multi-Flex", product_blacklist: Some("VTrak V-LUN"),
        handler: Some(Handler::Alua), no_path_retry: Some(NoPathRetry::Queue), ..ALUA_ARRAY },
    // Linux
    Row { vendor: "(LIO-ORG|SUSE)", product: ".*", handler: Some(Handler::Alua),
        no_path_retry: Some(NoPathRetry::Retries(12)), ..ALUA_ARRAY },
    // DataCore
    Row { vendor: "DataCore", product: "SANmelody", no_path_retry: Some(NoPathRetry::Queue),
        ..ALUA_ARRAY },
    Row { vendor: "DataCore", product: "Virtual Disk", no_path_retry: Some(NoPathRetry::Queue),
        ..ALUA_ARRAY },
    // Pure Storage. hwtable.c also gives this entry max_sectors_kb 4096,
    // but 0.9.4's store_hwe never copies that field: neither applied nor
    // shown by `multipath -t`, so left out here.
    Row { vendor: "PURE", product: "FlashArray", handler: Some(Handler::Alua),
        fast_io_fail_tmo: Some(10), ..ALUA_ARRAY },
    Row { vendor: "NVME", product: "Pure Storage FlashArray",
        no_path_retry: Some(NoPathRetry::Retries(10)), ..UNSET },
    // Huawei
    Row { vendor: "HUAWEI", product: "XSG1", policy: Some(Policy::GroupByPrio),
        failback: Some(Failback::Immediate), no_path_retry: Some(NoPathRetry::Retries(15)),
        ..UNSET },
    Row { vendor: "NVM[eE]", product: "Huawei-XSG1", checker: Some(Checker::Directio),
        no_path_retry: Some(NoPathRetry::Retries(12)), ..UNSET },
    // Kove
    Row { vendor: "KOVE", product: "XPD", policy: Some(Policy::Multibus), ..UNSET },
    // Infinidat
    Row { vendor: "NFINIDAT", product: "InfiniBox", policy: Some(Policy::GroupByPrio),
        selector: Some(Selector::RoundRobin0), prio: Some(Prio::Alua),
        failback: Some(Failback::Seconds(30)), rr_weight: Some(RrWeight::Priorities),
        no_path_retry: Some(NoPathRetry::Fail), rr_min_io: Some(1), rr_min_io_rq: Some(1),
        flush_on_last_del: Some(true), fast_io_fail_tmo: Some(15),
        dev_loss_tmo: Some(DevLoss::Seconds(15)), ..UNSET },
    // Kaminario
    Row { vendor: "KMNRIO", product: "K2", policy: Some(Policy::Multibus), ..UNSET },
    // Nexsan
    Row { vendor: "NEXSAN", product: "NXS-B0", no_path_retry: Some(NoPathRetry::Retries(15)),
        ..ALUA_ARRAY },
    Row { vendor: "NEXSAN", product: "SATAB", no_path_retry: Some(NoPathRetry::Retries(15)),
        ..ALUA_ARRAY },
    Row { vendor: "Nexsan", product: "(NestOS|NST5000)", handler: Some(Handler::Alua),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..ALUA_ARRAY },
    // Violin Systems
    Row { vendor: "VIOLIN", product: "SAN ARRAY$", policy: Some(Policy::GroupBySerial),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..UNSET },
    Row { vendor: "VIOLIN", product: "SAN ARRAY ALUA", handler: Some(Handler::Alua),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..ALUA_ARRAY },
    Row { vendor: "VIOLIN", product: "CONCERTO ARRAY", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..UNSET },
    // Xiotech
    Row { vendor: "(XIOTECH|XIOtech)", product: "ISE", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(12)), ..UNSET },
    Row { vendor: "(XIOTECH|XIOtech)", product: "IGLU DISK", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..UNSET },
    Row { vendor: "(XIOTECH|XIOtech)", product: "Magnitude", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..UNSET },
    // Vexata
    Row { vendor: "Vexata", product: "VX", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..UNSET },
    // Promise Technology
    Row { vendor: "Promise", product: "VTrak", product_blacklist: Some("VTrak V-LUN"),
        handler: Some(Handler::Alua), no_path_retry: Some(NoPathRetry::Retries(30)),
        ..ALUA_ARRAY },
    Row { vendor: "Promise", product: "Vess", product_blacklist: Some("Vess V-LUN"),
        handler: Some(Handler::Alua), no_path_retry: Some(NoPathRetry::Retries(30)),
        ..ALUA_ARRAY },
    // Infortrend Technology
    Row { vendor: "^IFT", product: ".*", no_path_retry: Some(NoPathRetry::Retries(30)),
        ..ALUA_ARRAY },
    // Seagate Technology (Dot Hill Systems)
    Row { vendor: "DotHill", product: "SANnet", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..UNSET },
    Row { vendor: "DotHill", product: "R/Evo", no_path_retry: Some(NoPathRetry::Retries(30)),
        ..ALUA_ARRAY },
    Row { vendor: "DotHill", product: "^DH", no_path_retry: Some(NoPathRetry::Retries(30)),
        ..ALUA_ARRAY },
    // AccelStor
    Row { vendor: "AStor", product: "NeoSapphire", policy: Some(Policy::Multibus),
        no_path_retry: Some(NoPathRetry::Retries(30)), ..UNSET },
    // INSPUR
    Row { vendor: "INSPUR", product: "MCS", ..ALUA_ARRAY },
    // MacroSAN Technologies
    Row { vendor: "MacroSAN", product: "LU", no_path_retry: Some(NoPathRetry::Retries(30)),
        ..ALUA_ARRAY },
];

impl Row {
    fn to_entry(&self) -> DeviceEntry {
        DeviceEntry {
            vendor: Some(self.vendor.to_owned()),
            product: Some(self.product.to_owned()),
            revision: None,
            product_blacklist: self.product_blacklist.map(str::to_owned),
            vpd_vendor: self.vpd_vendor.map(|v| v.name().to_owned()),
            attrs: self.attrs(),
            origin: Origin::Builtin,
        }
    }

    fn attrs(&self) -> Attrs {
        Attrs {
            path_grouping_policy: self.policy,
            path_selector: self.selector.map(|s| s.text().to_owned()),
            hardware_handler: self.handler.map(|h| h.text().to_owned()),
            features: self.features.map(|f| f.text().to_owned()),
            no_path_retry: self.no_path_retry,
            rr_weight: self.rr_weight,
            rr_min_io_rq: self.rr_min_io_rq.map(u32::from),
            rr_min_io: self.rr_min_io.map(u32::from),
            prio: self.prio.map(|p| p.name().to_owned()),
            prio_args: None,
            detect_prio: None,
            retain_attached_hw_handler: None,
            user_friendly_names: self.user_friendly_names,
            alias_prefix: None,
            path_checker: self.checker.map(|c| c.name().to_owned()),
            detect_checker: self.detect_checker,
            passive: self.passive(),
        }
    }

    /// The multipathd-only settings, spelled as `multipath -t` prints
    /// them (without its quotes) and in its keyword order.
    fn passive(&self) -> Vec<Passive> {
        let failback = self.failback.map(|f| match f {
            Failback::Immediate => "immediate".to_owned(),
            Failback::Seconds(s) => s.to_string(),
        });
        let dev_loss = self.dev_loss_tmo.map(|d| match d {
            DevLoss::Infinity => "infinity".to_owned(),
            DevLoss::Seconds(s) => s.to_string(),
        });
        let settings = [
            (
                "uid_attribute",
                self.uid_attribute.map(|u| u.name().to_owned()),
            ),
            ("failback", failback),
            ("flush_on_last_del", self.flush_on_last_del.map(yes_no)),
            (
                "fast_io_fail_tmo",
                self.fast_io_fail_tmo.map(|t| t.to_string()),
            ),
            ("dev_loss_tmo", dev_loss),
            ("max_sectors_kb", self.max_sectors_kb.map(|k| k.to_string())),
        ];
        settings
            .into_iter()
            .filter_map(|(keyword, value)| {
                value.map(|value| Passive {
                    keyword: keyword.to_owned(),
                    value,
                })
            })
            .collect()
    }
}

fn yes_no(flag: bool) -> String {
    if flag { "yes" } else { "no" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regex::Regex;

    /// Rows of `default_hw` in hwtable.c 0.9.4: the `{ }` blocks between
    /// the array's opening and its NULL sentinel (the `#if 0` template
    /// lies outside the array).
    const HWTABLE_C_ROWS: usize = 123;

    fn find(vendor: &str, product: &str) -> DeviceEntry {
        let table = builtin();
        let mut hits = table.iter().filter(|e| {
            e.vendor.as_deref() == Some(vendor) && e.product.as_deref() == Some(product)
        });
        let found = hits.next().cloned();
        assert!(hits.next().is_none(), "{vendor}/{product} appears twice");
        found.unwrap_or_else(|| panic!("{vendor}/{product} missing"))
    }

    fn position(vendor: &str, product: &str) -> usize {
        builtin()
            .iter()
            .position(|e| {
                e.vendor.as_deref() == Some(vendor) && e.product.as_deref() == Some(product)
            })
            .unwrap_or_else(|| panic!("{vendor}/{product} missing"))
    }

    fn entry(vendor: &str, product: &str, attrs: Attrs) -> DeviceEntry {
        DeviceEntry {
            vendor: Some(vendor.into()),
            product: Some(product.into()),
            attrs,
            origin: Origin::Builtin,
            ..DeviceEntry::default()
        }
    }

    fn passive(pairs: &[(&str, &str)]) -> Vec<Passive> {
        pairs
            .iter()
            .map(|(k, v)| Passive {
                keyword: (*k).into(),
                value: (*v).into(),
            })
            .collect()
    }

    fn s(text: &str) -> Option<String> {
        Some(text.into())
    }

    #[test]
    fn hwtable_has_every_row_of_multipath_tools() {
        assert_eq!(builtin().len(), HWTABLE_C_ROWS);
    }

    #[test]
    fn hwtable_every_regex_compiles() {
        let mut failures = Vec::new();
        for e in builtin() {
            for pattern in [&e.vendor, &e.product, &e.revision, &e.product_blacklist]
                .into_iter()
                .flatten()
            {
                if let Err(err) = Regex::new(pattern) {
                    failures.push(err.to_string());
                }
            }
        }
        assert!(failures.is_empty(), "{failures:?}");
    }

    #[test]
    fn hwtable_has_no_duplicate_keys() {
        let table = builtin();
        for (i, a) in table.iter().enumerate() {
            for b in &table[i + 1..] {
                let same =
                    a.vendor == b.vendor && a.product == b.product && a.revision == b.revision;
                assert!(!same, "duplicate row {:?}/{:?}", a.vendor, a.product);
            }
        }
    }

    #[test]
    fn hwtable_rows_are_builtin_and_keyed() {
        for e in builtin() {
            assert_eq!(e.origin, Origin::Builtin);
            assert!(e.vendor.as_deref().is_some_and(|v| !v.is_empty()));
            assert!(e.product.as_deref().is_some_and(|p| !p.is_empty()));
        }
    }

    #[test]
    fn hwtable_keeps_multipath_tools_order() {
        assert_eq!(position("NVM[eE]", ".*"), 0);
        assert_eq!(position("MacroSAN", "LU"), HWTABLE_C_ROWS - 1);
        // Specific NVMe rows must follow the generic one to override it.
        assert!(position("NVM[eE]", ".*") < position("NVM[eE]", "Huawei-XSG1"));
        assert!(position("(HITACHI|HP|HPE)", "^OPEN-") < position("HITACHI", "^DF600F"));
        assert!(position("HITACHI", "^DF") < position("HITACHI", "^DF600F"));
    }

    #[test]
    fn hwtable_passive_keywords_follow_multipath_t_order() {
        let order = [
            "uid_attribute",
            "failback",
            "flush_on_last_del",
            "fast_io_fail_tmo",
            "dev_loss_tmo",
            "max_sectors_kb",
        ];
        for e in builtin() {
            let ranks: Vec<usize> = e
                .attrs
                .passive
                .iter()
                .map(|p| {
                    order
                        .iter()
                        .position(|k| *k == p.keyword)
                        .unwrap_or(usize::MAX)
                })
                .collect();
            assert!(
                ranks.iter().all(|r| *r != usize::MAX),
                "{:?}",
                e.attrs.passive
            );
            assert!(
                ranks.windows(2).all(|w| w[0] < w[1]),
                "{:?}",
                e.attrs.passive
            );
        }
    }

    #[test]
    fn hwtable_rdac_rows_are_consistent() {
        let rdac: Vec<DeviceEntry> = builtin()
            .into_iter()
            .filter(|e| e.attrs.path_checker.as_deref() == Some("rdac"))
            .collect();
        assert_eq!(rdac.len(), 25);
        for e in rdac {
            assert_eq!(
                e.attrs.hardware_handler.as_deref(),
                Some("1 rdac"),
                "{:?}",
                e.product
            );
            assert_eq!(e.attrs.prio.as_deref(), Some("rdac"));
            assert_eq!(e.product_blacklist.as_deref(), Some("Universal Xport"));
        }
    }

    #[test]
    fn hwtable_generic_nvme() {
        let expected = entry(
            "NVM[eE]",
            ".*",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                path_checker: s("none"),
                passive: passive(&[("uid_attribute", "ID_WWN"), ("failback", "immediate")]),
                ..Attrs::default()
            },
        );
        assert_eq!(find("NVM[eE]", ".*"), expected);
    }

    #[test]
    fn hwtable_3pardata() {
        let mut expected = entry(
            "3PARdata",
            "VV",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                hardware_handler: s("1 alua"),
                prio: s("alua"),
                no_path_retry: Some(NoPathRetry::Retries(18)),
                passive: passive(&[
                    ("failback", "immediate"),
                    ("fast_io_fail_tmo", "10"),
                    ("dev_loss_tmo", "infinity"),
                ]),
                ..Attrs::default()
            },
        );
        expected.vpd_vendor = s("hp3par");
        assert_eq!(find("3PARdata", "VV"), expected);
    }

    #[test]
    fn hwtable_hp_hsv() {
        let product = "(HSV1[01]1|HSV2[01]0|HSV3[046]0|HSV4[05]0)";
        let expected = entry(
            "(COMPAQ|HP)",
            product,
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                prio: s("alua"),
                no_path_retry: Some(NoPathRetry::Retries(12)),
                passive: passive(&[("failback", "immediate")]),
                ..Attrs::default()
            },
        );
        assert_eq!(find("(COMPAQ|HP)", product), expected);
    }

    #[test]
    fn hwtable_dgc_clariion() {
        let mut expected = entry(
            "^DGC",
            "^(RAID|DISK|VRAID)",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                hardware_handler: s("1 emc"),
                no_path_retry: Some(NoPathRetry::Retries(60)),
                path_checker: s("emc_clariion"),
                prio: s("emc"),
                detect_checker: Some(false),
                passive: passive(&[("failback", "immediate")]),
                ..Attrs::default()
            },
        );
        expected.product_blacklist = s("LUNZ");
        assert_eq!(find("^DGC", "^(RAID|DISK|VRAID)"), expected);
    }

    #[test]
    fn hwtable_dell_md3() {
        let mut expected = entry(
            "DELL",
            "^MD3",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                path_checker: s("rdac"),
                features: s("2 pg_init_retries 50"),
                hardware_handler: s("1 rdac"),
                prio: s("rdac"),
                no_path_retry: Some(NoPathRetry::Retries(30)),
                passive: passive(&[("failback", "immediate")]),
                ..Attrs::default()
            },
        );
        expected.product_blacklist = s("Universal Xport");
        assert_eq!(find("DELL", "^MD3"), expected);
    }

    #[test]
    fn hwtable_ibm_2145() {
        let expected = entry(
            "IBM",
            "^2145",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                no_path_retry: Some(NoPathRetry::Queue),
                prio: s("alua"),
                passive: passive(&[("failback", "immediate")]),
                ..Attrs::default()
            },
        );
        assert_eq!(find("IBM", "^2145"), expected);
    }

    #[test]
    fn hwtable_ibm_dasd_eckd() {
        let mut expected = entry(
            "IBM",
            "S/390 DASD ECKD",
            Attrs {
                path_grouping_policy: Some(Policy::Multibus),
                no_path_retry: Some(NoPathRetry::Queue),
                path_checker: s("directio"),
                passive: passive(&[("uid_attribute", "ID_UID")]),
                ..Attrs::default()
            },
        );
        expected.product_blacklist = s("S/390");
        assert_eq!(find("IBM", "S/390 DASD ECKD"), expected);
    }

    #[test]
    fn hwtable_ibm_xiv() {
        let expected = entry(
            "(XIV|IBM)",
            "(NEXTRA|2810XIV)",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                no_path_retry: Some(NoPathRetry::Queue),
                passive: passive(&[("failback", "15")]),
                ..Attrs::default()
            },
        );
        assert_eq!(find("(XIV|IBM)", "(NEXTRA|2810XIV)"), expected);
    }

    #[test]
    fn hwtable_netapp_lun() {
        let expected = entry(
            "NETAPP",
            "LUN",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                features: s("2 pg_init_retries 50"),
                no_path_retry: Some(NoPathRetry::Queue),
                prio: s("ontap"),
                user_friendly_names: Some(false),
                passive: passive(&[
                    ("failback", "immediate"),
                    ("flush_on_last_del", "yes"),
                    ("dev_loss_tmo", "infinity"),
                ]),
                ..Attrs::default()
            },
        );
        assert_eq!(find("NETAPP", "LUN"), expected);
    }

    #[test]
    fn hwtable_lio() {
        let expected = entry(
            "(LIO-ORG|SUSE)",
            ".*",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                hardware_handler: s("1 alua"),
                no_path_retry: Some(NoPathRetry::Retries(12)),
                prio: s("alua"),
                passive: passive(&[("failback", "immediate")]),
                ..Attrs::default()
            },
        );
        assert_eq!(find("(LIO-ORG|SUSE)", ".*"), expected);
    }

    #[test]
    fn hwtable_pure_flasharray() {
        let expected = entry(
            "PURE",
            "FlashArray",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                hardware_handler: s("1 alua"),
                prio: s("alua"),
                passive: passive(&[
                    ("failback", "immediate"),
                    ("fast_io_fail_tmo", "10"),
                ]),
                ..Attrs::default()
            },
        );
        assert_eq!(find("PURE", "FlashArray"), expected);
    }

    #[test]
    fn hwtable_infinidat() {
        let expected = entry(
            "NFINIDAT",
            "InfiniBox",
            Attrs {
                path_grouping_policy: Some(Policy::GroupByPrio),
                path_selector: s("round-robin 0"),
                prio: s("alua"),
                rr_weight: Some(RrWeight::Priorities),
                no_path_retry: Some(NoPathRetry::Fail),
                rr_min_io: Some(1),
                rr_min_io_rq: Some(1),
                passive: passive(&[
                    ("failback", "30"),
                    ("flush_on_last_del", "yes"),
                    ("fast_io_fail_tmo", "15"),
                    ("dev_loss_tmo", "15"),
                ]),
                ..Attrs::default()
            },
        );
        assert_eq!(find("NFINIDAT", "InfiniBox"), expected);
    }

    #[test]
    fn hwtable_universal_xport_rows_blacklist_the_access_lun() {
        let count = builtin()
            .iter()
            .filter(|e| e.product_blacklist.as_deref() == Some("Universal Xport"))
            .count();
        assert_eq!(count, 25);
        let lenovo = find("LENOVO", "DE_Series");
        assert_eq!(lenovo.product_blacklist.as_deref(), Some("Universal Xport"));
        assert_eq!(lenovo.attrs.path_checker.as_deref(), Some("rdac"));
    }
}
