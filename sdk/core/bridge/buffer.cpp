#include "buffer.h"

#include <QDebug>

#include <cstring>

namespace PluginHost
{

namespace
{
// Only an array with an allocated block of its own can be shared safely: fromRawData() bytes
// belong to someone else, and such an array has no capacity of its own.
bool ownsItsBytes(const QByteArray &bytes)
{
    return bytes.isEmpty() || bytes.capacity() > 0;
}

// QVariant::toByteArray() and QVariant::value<QByteArray>() on a QVariant holding a Buffer.
[[maybe_unused]] const bool s_converterRegistered = QMetaType::registerConverter<Buffer, QByteArray>([](const Buffer &buffer) {
    return buffer.data();
});
} // namespace

Buffer::Buffer(const QByteArray &bytes)
    : m_bytes(ownsItsBytes(bytes) ? bytes : QByteArray(bytes.constData(), bytes.size()))
{
}

bool operator==(const Buffer &left, const Buffer &right)
{
    if (left.size() != right.size()) {
        return false;
    }
    return left.constData() == right.constData() || std::memcmp(left.constData(), right.constData(), size_t(left.size())) == 0;
}

QDebug operator<<(QDebug debug, const Buffer &buffer)
{
    const QDebugStateSaver saver(debug);
    debug.nospace() << "PluginHost::Buffer(" << buffer.size() << " bytes at " << static_cast<const void *>(buffer.constData()) << ')';
    return debug;
}

} // namespace PluginHost
