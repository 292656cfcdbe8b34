package kernelfarm.protocol;

/**
 * Jackson CBOR (bound in serialization.conf). Everything persisted implements this: Jackson keeps field names and
 * supports migrations, so old events still load after a record changes.
 */
public interface CborSerializable {}
