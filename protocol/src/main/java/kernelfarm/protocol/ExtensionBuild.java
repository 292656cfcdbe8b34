package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * One extension build. A failed build behind a try/except that fell back to PyTorch shows here, never as a
 * custom kernel.
 *
 * @param cached whether the compile cache already held it
 * @param error the compiler lines that matter when {@code ok} is false, else null
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ExtensionBuild(String name, boolean ok, boolean cached, String error)
    implements CborSerializable {
  public ExtensionBuild {
    Require.nonBlank(name, "name");
  }
}
