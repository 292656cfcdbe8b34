package kernelfarm.worker.device;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import jcuda.driver.CUdevice;
import jcuda.driver.CUuuid;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.JCudaDriver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the devices of this host: the CUDA driver API through JCuda first, {@code nvidia-smi} when JCuda's
 * native library cannot load, else one CPU device (CI, laptops, the demo).
 */
public final class DeviceInventory {
  private static final Logger log = LoggerFactory.getLogger(DeviceInventory.class);

  private DeviceInventory() {}

  /** {@code mode}: "auto" or "cpu" (kernelfarm.worker.devices). */
  public static List<Device> discover(String mode) {
    if (mode.equals("cpu")) {
      return List.of(Device.cpu());
    }
    if (!mode.equals("auto")) {
      throw new IllegalArgumentException(
          "kernelfarm.worker.devices must be auto or cpu, got \"" + mode + "\" (set KFARM_DEVICES)");
    }
    List<Device> found = fromJcuda();
    String source = "jcuda";
    if (found.isEmpty()) {
      found = fromNvidiaSmi();
      source = "nvidia-smi";
    }
    if (found.isEmpty()) {
      found = List.of(Device.cpu());
      source = "no GPU found";
    }
    log.atInfo().addKeyValue("source", source).addKeyValue("devices", found.size())
        .addKeyValue("type", found.get(0).deviceType()).log("devices found");
    return found;
  }

  static List<Device> fromJcuda() {
    try {
      JCudaDriver.setExceptionsEnabled(true);
      JCudaDriver.cuInit(0);
      int[] count = {0};
      JCudaDriver.cuDeviceGetCount(count);
      int[] driver = {0};
      JCudaDriver.cuDriverGetVersion(driver);
      String smiDriver = nvidiaSmiDriverVersion();
      List<Device> devices = new ArrayList<>();
      for (int i = 0; i < count[0]; i++) {
        CUdevice device = new CUdevice();
        JCudaDriver.cuDeviceGet(device, i);
        byte[] name = new byte[256];
        JCudaDriver.cuDeviceGetName(name, name.length, device);
        long[] memory = {0};
        JCudaDriver.cuDeviceTotalMem(memory, device);
        int[] major = {0};
        int[] minor = {0};
        JCudaDriver.cuDeviceGetAttribute(major, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
        JCudaDriver.cuDeviceGetAttribute(minor, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
        devices.add(new Device(i, uuidOf(device), cString(name), memory[0], major[0] + "." + minor[0],
            smiDriver.isEmpty() ? "cuda-driver-api " + driver[0] : smiDriver, true));
      }
      return devices;
    } catch (Throwable noCuda) { // UnsatisfiedLinkError without libcuda, CudaException without a device
      log.atDebug().addKeyValue("reason", noCuda.toString()).log("JCuda unavailable");
      return List.of();
    }
  }

  private static String uuidOf(CUdevice device) {
    try {
      CUuuid uuid = new CUuuid();
      JCudaDriver.cuDeviceGetUuid(uuid, device);
      StringBuilder hex = new StringBuilder("GPU-");
      for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
          hex.append('-');
        }
        hex.append(String.format("%02x", uuid.bytes[i] & 0xff));
      }
      return hex.toString();
    } catch (Throwable unavailable) {
      return null;
    }
  }

  static List<Device> fromNvidiaSmi() {
    String out = run("nvidia-smi", "--query-gpu=index,uuid,name,memory.total,compute_cap,driver_version",
        "--format=csv,noheader,nounits");
    return out == null ? List.of() : parseNvidiaSmi(out);
  }

  /** Parses {@code index, uuid, name, memory.total [MiB], compute_cap, driver_version} lines. */
  public static List<Device> parseNvidiaSmi(String csv) {
    List<Device> devices = new ArrayList<>();
    for (String line : csv.split("\n")) {
      String[] f = line.split(",");
      if (f.length < 6) {
        continue;
      }
      try {
        devices.add(new Device(Integer.parseInt(f[0].trim()), f[1].trim(), f[2].trim(),
            Long.parseLong(f[3].trim()) * 1024 * 1024, f[4].trim(), f[5].trim(), true));
      } catch (NumberFormatException notADeviceLine) {
        // nvidia-smi prints warnings on some hosts; only device lines count
      }
    }
    return devices;
  }

  private static String nvidiaSmiDriverVersion() {
    String out = run("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader");
    return out == null || out.isBlank() ? "" : out.lines().findFirst().orElse("").trim();
  }

  private static String run(String... command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(20, TimeUnit.SECONDS) || p.exitValue() != 0) {
        return null;
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (IOException | InterruptedException notInstalled) {
      return null;
    }
  }

  private static String cString(byte[] bytes) {
    int end = 0;
    while (end < bytes.length && bytes[end] != 0) {
      end++;
    }
    return new String(bytes, 0, end, StandardCharsets.US_ASCII);
  }
}
