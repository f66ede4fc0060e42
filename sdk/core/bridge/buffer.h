#pragma once

#include "pluginhostcore_export.h"

#include <QByteArray>
#include <QMetaType>

class QDebug;

namespace PluginHost
{

/*!
 * \class PluginHost::Buffer
 * \brief Bytes that cross to a plugin and back without being copied.
 *
 * A QByteArray in a QVariant reaches Python as `bytes`, a copy. A Buffer reaches Python as a
 * `pluginhost.Buffer`: a read-only object over the very same bytes (the buffer protocol, so
 * `memoryview(buffer)`, `zlib`, `struct.unpack_from`, `numpy.frombuffer` read them
 * in place). A `pluginhost.Buffer` that a plugin returns, emits or passes to another plugin
 * comes back as a Buffer holding the same QByteArray: `data().constData()` is the address
 * the host started with. Nothing is copied on the way, in either direction.
 *
 * \code
 * QByteArray frame = camera.grab();                      // 16 MiB
 * plugin->call(u"analyse"_s, {QVariant::fromValue(PluginHost::Buffer(frame))})
 *     .then(this, [](const QVariant &result) {
 *         // a plugin that returned a pluginhost.Buffer
 *         const PluginHost::Buffer thumbnail = result.value<PluginHost::Buffer>();
 *         show(thumbnail.data());
 *     });
 * \endcode
 *
 * The bytes are shared through QByteArray's implicit sharing, so they live as long as the
 * host or any plugin holds them, and they are never written while shared: Python sees them
 * read-only, and a host that changes its own QByteArray afterwards detaches (copies) it,
 * which leaves the plugins' view untouched. A Buffer is cheap to copy and safe to pass
 * between threads.
 *
 * A plain QByteArray still crosses as `bytes`, whatever its size: a plugin author then gets
 * the type every Python library takes. Wrap it in a Buffer where the copy matters.
 * `QVariant::toByteArray()` works on a QVariant holding a Buffer (without copying).
 *
 * \since 0.2
 */
class PLUGINHOSTCORE_EXPORT Buffer
{
public:
    /// An empty buffer.
    Buffer() = default;

    /*!
     * Shares `bytes` (no copy). A QByteArray made by QByteArray::fromRawData() does not own its
     * bytes, which the plugin could then read after their owner freed them: that one is copied
     * once here.
     */
    explicit Buffer(const QByteArray &bytes);

    /// The bytes, shared with every copy of this Buffer and every pluginhost.Buffer over them.
    const QByteArray &data() const
    {
        return m_bytes;
    }
    /// The address of the first byte: the same in the host and in every plugin that has them.
    const char *constData() const
    {
        return m_bytes.constData();
    }
    qsizetype size() const
    {
        return m_bytes.size();
    }
    bool isEmpty() const
    {
        return m_bytes.isEmpty();
    }

    /// Equal when they hold the same bytes (shared or not).
    friend PLUGINHOSTCORE_EXPORT bool operator==(const Buffer &left, const Buffer &right);
    friend bool operator!=(const Buffer &left, const Buffer &right)
    {
        return !(left == right);
    }

private:
    QByteArray m_bytes;
};

/// "PluginHost::Buffer(1024 bytes at 0x7f…)"
PLUGINHOSTCORE_EXPORT QDebug operator<<(QDebug debug, const Buffer &buffer);

} // namespace PluginHost

Q_DECLARE_METATYPE(PluginHost::Buffer)
