package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.stream.Collectors;

/** How a candidate's ModelNew implements its kernels; JSON, the harness and the CLI use {@link #wireName()}. */
public enum Backend {
  /** torch.utils.cpp_extension.load_inline with CUDA sources, KernelBench's default. */
  CUDA("cuda"),
  /** {@code @triton.jit} kernels. */
  TRITON("triton"),
  /** C++ load_inline or plain PyTorch: CPU-only hosts, tests and the demo. */
  CPU("cpu");

  private final String wireName;

  Backend(String wireName) {
    this.wireName = wireName;
  }

  @JsonValue
  public String wireName() {
    return wireName;
  }

  /** Accepts a wire name in any case; anything else is refused with the list of valid names. */
  @JsonCreator
  public static Backend parse(String text) {
    for (Backend backend : values()) {
      if (text != null && backend.wireName.equalsIgnoreCase(text.strip())) {
        return backend;
      }
    }
    String valid = Arrays.stream(values()).map(Backend::wireName).collect(Collectors.joining(", "));
    throw new IllegalArgumentException("backend must be one of " + valid + ", got \"" + text + "\"");
  }
}
