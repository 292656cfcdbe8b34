package kernelfarm.protocol;

/**
 * Our {@link KryoSerializer}: per-candidate dispatch messages, never persisted. (Kryo already has a
 * KryoSerializable.) Every class such a message carries, however deeply nested, must be in the serializer's
 * registration table.
 */
public interface KryoMessage {}
