package kernelfarm.worker.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class DeviceInventoryTest {
  @Test
  void parsesNvidiaSmiAndSkipsItsWarnings() {
    List<Device> devices = DeviceInventory.parseNvidiaSmi("""
        WARNING: infoROM is corrupted at gpu 0000:04:00.0
        0, GPU-11111111-2222-3333-4444-555555555555, NVIDIA H100 80GB HBM3, 81559, 9.0, 580.159.04
        1, GPU-66666666-2222-3333-4444-555555555555, NVIDIA H100 80GB HBM3, 81559, 9.0, 580.159.04
        """);
    assertEquals(2, devices.size());
    assertEquals(1, devices.get(1).index());
    assertEquals("GPU-66666666-2222-3333-4444-555555555555", devices.get(1).visibleDevices());
    assertEquals(81559L * 1024 * 1024, devices.get(0).memoryBytes());
    assertEquals("9.0", devices.get(0).archList());
    assertTrue(devices.get(0).capabilities().supports(kernelfarm.protocol.Backend.TRITON));
  }

  @Test
  void withoutAGpuThereIsOneCpuDevice() {
    List<Device> devices = DeviceInventory.discover("cpu");
    assertEquals(1, devices.size());
    assertEquals("cpu", devices.get(0).deviceType());
    assertEquals("", devices.get(0).visibleDevices());
  }

  @Test
  void anUnknownModeNamesTheKeyAndTheFix() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceInventory.discover("tpu"));
    assertTrue(e.getMessage().contains("kernelfarm.worker.devices"), e.getMessage());
    assertTrue(e.getMessage().contains("KFARM_DEVICES"), e.getMessage());
  }
}
