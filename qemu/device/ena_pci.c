/*
 * QEMU ENA PCI device (1d0f:ec20): a thin shell around the Rust ENA device
 * model (rust/ena-model through rust/ena-capi). BAR0 accesses, received
 * frames, link changes and a one-second tick go to the model; the model
 * calls back for DMA, MSI-X and transmit. Linux's own ena driver, and our
 * ena_custom, probe it and pass traffic; see qemu/README.md.
 *
 * PCI revision bit 0 is ENA_MMIO_DISABLE_REG_READ. EC2's devices leave it
 * clear, so the drivers read registers the read-less way (the device
 * DMA-writes each value, ena_com_reg_bar_read32); property readless=off
 * sets it, and the drivers read BAR0 directly.
 *
 * trace=FILE writes the model's trace there: each register access,
 * admin command, event and (summarized) doorbell the driver causes,
 * decoded, with the driver function behind it.
 *
 * The model checks the driver against the protocol (its test port counts
 * each violation); checker-reset=on also asks the driver for a reset, as a
 * device that found itself unhealthy does.
 *
 * Moderated interrupts wait on a virtual-clock timer (wake_at); frames
 * with no Rx buffer posted are dropped and counted (rx_overruns), as on
 * hardware, unless rx-hold=on makes QEMU queue them.
 *
 * BAR2 is the device memory LLQ entries are written to: plain RAM here
 * (prefetchable, as the drivers map it write-combined), which the model
 * reads through llq_read when a Tx doorbell rings. Property llq=off hides
 * LLQ, and the drivers take host placement.
 */

#include "qemu/osdep.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "net/net.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qemu/main-loop.h"
#include "qom/object.h"

#include "ena_model.h"

#define TYPE_ENA_PCI "ena"
OBJECT_DECLARE_SIMPLE_TYPE(EnaPciState, ENA_PCI)

#define ENA_VENDOR_ID 0x1d0f
#define ENA_DEVICE_ID 0xec20
#define ENA_REVISION_NO_READLESS 0x01
#define ENA_LLQ_BAR 2
#define ENA_MSIX_BAR 4
#define ENA_TICK_MS 1000

/*
 * The model's test port (ena_model.h) is also reachable in config space: a
 * test in the guest cannot map BAR0 while a driver owns it
 * (IO_STRICT_DEVMEM), but root can always read and write
 * /sys/bus/pci/devices/BDF/config.
 */
#define ENA_CFG_TEST_PORT ENA_MODEL_TEST_PORT_CFG
#define ENA_CFG_TEST_PORT_END (ENA_MODEL_TEST_PORT_CFG + ENA_MODEL_TEST_PORT_SIZE)
#define ENA_BAR0_TEST_PORT ENA_MODEL_TEST_PORT

struct EnaPciState {
    PCIDevice parent_obj;

    MemoryRegion mmio;
    MemoryRegion llq;
    NICState *nic;
    NICConf conf;
    QEMUTimer *tick;
    QEMUTimer *moderation;
    QEMUBH *flush;
    QEMUBH *complete;
    struct ena_model *model;

    uint32_t max_mtu;
    uint32_t link_speed_mbps;
    uint32_t msix_vectors;
    uint32_t tx_completion_window;
    bool llq_enabled;
    bool llq_large;
    bool readless;
    bool rx_hold;
    bool checker_reset;
    uint32_t intr_delay_resolution;
    uint32_t rx_offset;
    char *trace_path;
    FILE *trace;
};

static uint64_t ena_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    EnaPciState *s = opaque;

    return ena_model_mmio_read(s->model, addr);
}

static void ena_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                           unsigned size)
{
    EnaPciState *s = opaque;

    ena_model_mmio_write(s->model, addr, val);
}

static const MemoryRegionOps ena_mmio_ops = {
    .read = ena_mmio_read,
    .write = ena_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = { .min_access_size = 4, .max_access_size = 4 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

/* ---- the model's callbacks ---- */

/*
 * A function whose Bus Master Enable is clear issues no memory requests
 * (PCIe base spec, Command register): its DMA is lost, not failed. igb_uio
 * clears it when DPDK's PMD closes the device, which that PMD leaves
 * without a reset: the AENQ's keep-alives after that go nowhere, as on
 * hardware, and are no driver's protocol error.
 */
static bool ena_bus_master(PCIDevice *pdev)
{
    return pci_get_word(pdev->config + PCI_COMMAND) & PCI_COMMAND_MASTER;
}

static int ena_dma_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
    if (!ena_bus_master(PCI_DEVICE(opaque))) {
        memset(buf, 0, len);
        return 0;
    }
    return pci_dma_read(PCI_DEVICE(opaque), addr, buf, len) != MEMTX_OK;
}

static int ena_dma_write(void *opaque, uint64_t addr, const void *buf,
                         size_t len)
{
    if (!ena_bus_master(PCI_DEVICE(opaque))) {
        return 0;
    }
    return pci_dma_write(PCI_DEVICE(opaque), addr, buf, len) != MEMTX_OK;
}

static void ena_interrupt(void *opaque, uint16_t vector)
{
    PCIDevice *d = PCI_DEVICE(opaque);

    /* The drivers require MSI-X; before they enable it there is no one to tell. */
    if (msix_enabled(d) && vector < ENA_PCI(opaque)->msix_vectors) {
        msix_notify(d, vector);
    }
}

static void ena_transmit(void *opaque, const uint8_t *frame, size_t len)
{
    EnaPciState *s = opaque;

    qemu_send_packet(qemu_get_queue(s->nic), frame, len);
}

static void ena_llq_read(void *opaque, uint64_t offset, void *buf, size_t len)
{
    EnaPciState *s = opaque;

    if (!s->llq_enabled || offset > ENA_MODEL_LLQ_BAR_SIZE ||
        len > ENA_MODEL_LLQ_BAR_SIZE - offset) {
        memset(buf, 0, len);
        return;
    }
    memcpy(buf, (uint8_t *)memory_region_get_ram_ptr(&s->llq) + offset, len);
}

/*
 * Called inside an Rx doorbell write: flushing here would re-enter the
 * model, so defer it to a bottom half.
 */
static void ena_rx_space(void *opaque)
{
    EnaPciState *s = opaque;

    qemu_bh_schedule(s->flush);
}

/* Tx completions come after the doorbell write that sent them, as on hardware. */
static void ena_defer(void *opaque)
{
    EnaPciState *s = opaque;

    qemu_bh_schedule(s->complete);
}

static uint64_t ena_now_us(void *opaque)
{
    return qemu_clock_get_us(QEMU_CLOCK_VIRTUAL);
}

/* An interrupt waits out its moderation delay: the earliest wake wins. */
static void ena_wake_at(void *opaque, uint64_t us)
{
    EnaPciState *s = opaque;
    int64_t ns = (int64_t)us * 1000;

    if (!timer_pending(s->moderation) ||
        ns < timer_expire_time_ns(s->moderation)) {
        timer_mod(s->moderation, ns);
    }
}

static void ena_moderation_due(void *opaque)
{
    EnaPciState *s = opaque;

    ena_model_run_timers(s->model);
}

static void ena_trace_line(void *opaque, const char *line, size_t len)
{
    EnaPciState *s = opaque;

    fwrite(line, 1, len, s->trace);
    fputc('\n', s->trace);
}

static void ena_complete(void *opaque)
{
    EnaPciState *s = opaque;

    ena_model_run_deferred(s->model);
}

static void ena_flush(void *opaque)
{
    EnaPciState *s = opaque;

    qemu_flush_queued_packets(qemu_get_queue(s->nic));
}

/* ---- the network backend ---- */

static bool ena_can_receive(NetClientState *nc)
{
    EnaPciState *s = qemu_get_nic_opaque(nc);

    return ena_model_can_receive(s->model, 1);
}

static ssize_t ena_receive(NetClientState *nc, const uint8_t *buf, size_t size)
{
    EnaPciState *s = qemu_get_nic_opaque(nc);

    /* With rx-hold, 0 makes QEMU queue the frame until ena_flush. */
    return ena_model_receive(s->model, buf, size) ? size : 0;
}

static void ena_link_status_changed(NetClientState *nc)
{
    EnaPciState *s = qemu_get_nic_opaque(nc);

    ena_model_set_link(s->model, !nc->link_down);
}

static NetClientInfo net_ena_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(NICState),
    .can_receive = ena_can_receive,
    .receive = ena_receive,
    .link_status_changed = ena_link_status_changed,
};

static void ena_tick(void *opaque)
{
    EnaPciState *s = opaque;

    ena_model_tick(s->model);
    timer_mod(s->tick, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + ENA_TICK_MS);
}

/* ---- the PCI function ---- */

static uint32_t ena_config_read(PCIDevice *pdev, uint32_t addr, int len)
{
    if (addr >= ENA_CFG_TEST_PORT && addr + len <= ENA_CFG_TEST_PORT_END &&
        len == 4 && addr % 4 == 0) {
        return ena_model_mmio_read(ENA_PCI(pdev)->model,
                                   ENA_BAR0_TEST_PORT + addr - ENA_CFG_TEST_PORT);
    }
    return pci_default_read_config(pdev, addr, len);
}

static void ena_config_write(PCIDevice *pdev, uint32_t addr, uint32_t val,
                             int len)
{
    if (addr >= ENA_CFG_TEST_PORT && addr + len <= ENA_CFG_TEST_PORT_END) {
        if (len == 4 && addr % 4 == 0) {
            ena_model_mmio_write(ENA_PCI(pdev)->model,
                                 ENA_BAR0_TEST_PORT + addr - ENA_CFG_TEST_PORT,
                                 val);
        }
        return;
    }
    pci_default_write_config(pdev, addr, val, len);
}

/* The model and its trace file, gone. */
static void ena_unrealize_model(EnaPciState *s)
{
    ena_model_free(s->model);
    s->model = NULL;
    if (s->trace) {
        fclose(s->trace);
        s->trace = NULL;
    }
}

static void ena_realize(PCIDevice *pdev, Error **errp)
{
    EnaPciState *s = ENA_PCI(pdev);
    struct ena_model_config config = {
        .max_mtu = s->max_mtu,
        .link_speed_mbps = s->link_speed_mbps,
        .llq = s->llq_enabled,
        .llq_large = s->llq_large,
        .tx_completion_window = s->tx_completion_window,
        .intr_delay_resolution = s->intr_delay_resolution,
        .rx_offset = s->rx_offset,
        .rx_hold = s->rx_hold,
        .msix_vectors = s->msix_vectors,
        .checker_response = s->checker_reset,
        .trace = s->trace_path != NULL,
    };
    const struct ena_model_host host = {
        .opaque = s,
        .dma_read = ena_dma_read,
        .dma_write = ena_dma_write,
        .interrupt = ena_interrupt,
        .transmit = ena_transmit,
        .rx_space = ena_rx_space,
        .llq_read = ena_llq_read,
        .defer = ena_defer,
        .now_us = ena_now_us,
        .wake_at = ena_wake_at,
        .trace = ena_trace_line,
    };
    uint32_t i;

    if (s->msix_vectors < 2 || s->msix_vectors > 33) {
        error_setg(errp, "ena: msix-vectors %u is out of range 2..33 "
                   "(one management vector and one per queue pair)",
                   s->msix_vectors);
        return;
    }
    if (s->tx_completion_window > 64) {
        error_setg(errp, "ena: tx-completion-window %u is out of range 0..64",
                   s->tx_completion_window);
        return;
    }
    if (s->intr_delay_resolution > 1000) {
        error_setg(errp, "ena: intr-delay-resolution %u is out of range 0..1000 "
                   "(microseconds; 0 offers no moderation)",
                   s->intr_delay_resolution);
        return;
    }
    if (s->rx_offset > 128) {
        error_setg(errp, "ena: rx-offset %u is out of range 0..128", s->rx_offset);
        return;
    }
    if (s->max_mtu < 128 || s->max_mtu > 9216) {
        error_setg(errp, "ena: max-mtu %u is out of range 128..9216",
                   s->max_mtu);
        return;
    }

    if (s->trace_path) {
        s->trace = fopen(s->trace_path, "w");
        if (!s->trace) {
            error_setg_errno(errp, errno, "ena: cannot write the trace to '%s'",
                             s->trace_path);
            return;
        }
        /* A line at a time: the file is whole whenever QEMU stops. */
        setvbuf(s->trace, NULL, _IOLBF, 0);
    }
    pci_config_set_revision(pdev->config,
                            s->readless ? 0 : ENA_REVISION_NO_READLESS);
    qemu_macaddr_default_if_unset(&s->conf.macaddr);
    memcpy(config.mac, s->conf.macaddr.a, sizeof(config.mac));
    s->model = ena_model_new(&config, &host);
    if (!s->model) {
        error_setg(errp, "ena: the device model refused its configuration");
        ena_unrealize_model(s);
        return;
    }

    memory_region_init_io(&s->mmio, OBJECT(s), &ena_mmio_ops, s, "ena-regs",
                          ENA_MODEL_BAR0_SIZE);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);

    if (s->llq_enabled) {
        Error *err = NULL;

        memory_region_init_ram_nomigrate(&s->llq, OBJECT(s), "ena-llq",
                                         ENA_MODEL_LLQ_BAR_SIZE, &err);
        if (err) {
            error_propagate(errp, err);
            ena_unrealize_model(s);
            return;
        }
        pci_register_bar(pdev, ENA_LLQ_BAR,
                         PCI_BASE_ADDRESS_SPACE_MEMORY |
                         PCI_BASE_ADDRESS_MEM_TYPE_64 |
                         PCI_BASE_ADDRESS_MEM_PREFETCH, &s->llq);
    }

    if (msix_init_exclusive_bar(pdev, s->msix_vectors, ENA_MSIX_BAR, errp)) {
        ena_unrealize_model(s);
        return;
    }
    for (i = 0; i < s->msix_vectors; i++) {
        msix_vector_use(pdev, i);
    }

    s->flush = qemu_bh_new_guarded(ena_flush, s,
                                   &DEVICE(s)->mem_reentrancy_guard);
    s->complete = qemu_bh_new_guarded(ena_complete, s,
                                      &DEVICE(s)->mem_reentrancy_guard);
    s->nic = qemu_new_nic(&net_ena_info, &s->conf,
                          object_get_typename(OBJECT(s)), DEVICE(s)->id,
                          &DEVICE(s)->mem_reentrancy_guard, s);
    qemu_format_nic_info_str(qemu_get_queue(s->nic), s->conf.macaddr.a);

    s->tick = timer_new_ms(QEMU_CLOCK_VIRTUAL, ena_tick, s);
    timer_mod(s->tick, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) + ENA_TICK_MS);
    s->moderation = timer_new_ns(QEMU_CLOCK_VIRTUAL, ena_moderation_due, s);
}

static void ena_exit(PCIDevice *pdev)
{
    EnaPciState *s = ENA_PCI(pdev);

    timer_free(s->tick);
    timer_free(s->moderation);
    qemu_bh_delete(s->flush);
    qemu_bh_delete(s->complete);
    qemu_del_nic(s->nic);
    msix_uninit_exclusive_bar(pdev);
    ena_unrealize_model(s);
}

static void ena_reset(DeviceState *dev)
{
    EnaPciState *s = ENA_PCI(dev);

    ena_model_reset(s->model);
    ena_model_set_link(s->model, !qemu_get_queue(s->nic)->link_down);
}

static const VMStateDescription vmstate_ena = {
    .name = "ena",
    .unmigratable = 1,
};

static Property ena_properties[] = {
    DEFINE_NIC_PROPERTIES(EnaPciState, conf),
    DEFINE_PROP_UINT32("max-mtu", EnaPciState, max_mtu, 9216),
    DEFINE_PROP_UINT32("link-speed", EnaPciState, link_speed_mbps, 25000),
    DEFINE_PROP_UINT32("msix-vectors", EnaPciState, msix_vectors, 9),
    DEFINE_PROP_UINT32("tx-completion-window", EnaPciState, tx_completion_window, 4),
    DEFINE_PROP_BOOL("llq", EnaPciState, llq_enabled, true),
    DEFINE_PROP_BOOL("llq-large", EnaPciState, llq_large, true),
    DEFINE_PROP_BOOL("readless", EnaPciState, readless, true),
    DEFINE_PROP_BOOL("rx-hold", EnaPciState, rx_hold, false),
    DEFINE_PROP_BOOL("checker-reset", EnaPciState, checker_reset, false),
    DEFINE_PROP_STRING("trace", EnaPciState, trace_path),
    DEFINE_PROP_UINT32("intr-delay-resolution", EnaPciState, intr_delay_resolution, 1),
    DEFINE_PROP_UINT32("rx-offset", EnaPciState, rx_offset, 0),
    DEFINE_PROP_END_OF_LIST(),
};

static void ena_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = ena_realize;
    k->exit = ena_exit;
    k->config_read = ena_config_read;
    k->config_write = ena_config_write;
    k->vendor_id = ENA_VENDOR_ID;
    k->device_id = ENA_DEVICE_ID;
    k->revision = 0;
    k->class_id = PCI_CLASS_NETWORK_ETHERNET;
    dc->desc = "Elastic Network Adapter (Rust device model)";
    dc->reset = ena_reset;
    dc->vmsd = &vmstate_ena;
    device_class_set_props(dc, ena_properties);
    set_bit(DEVICE_CATEGORY_NETWORK, dc->categories);
}

static void ena_instance_init(Object *obj)
{
    EnaPciState *s = ENA_PCI(obj);

    device_add_bootindex_property(obj, &s->conf.bootindex, "bootindex",
                                  "/ethernet-phy@0", DEVICE(obj));
}

static const TypeInfo ena_info = {
    .name = TYPE_ENA_PCI,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(EnaPciState),
    .instance_init = ena_instance_init,
    .class_init = ena_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    },
};

static void ena_register_types(void)
{
    type_register_static(&ena_info);
}

type_init(ena_register_types)
