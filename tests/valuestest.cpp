// Tests the value converter (bridge/values.h) inside a real own-GIL subinterpreter: every
// conversion runs as a job on the interpreter's thread, and only Qt values and strings come
// back to the test thread, where the assertions are made.
#include "runtime/pythonshim.h" // Python.h comes before any Qt header

#include "bridge/buffer.h"
#include "bridge/values.h"
#include "runtime/interpreter.h"
#include "runtime/pyref.h"

#include <QDate>
#include <QDateTime>
#include <QPointF>
#include <QRegularExpression>
#include <QTest>
#include <QUrl>
#include <QUuid>

#include <cmath>
#include <future>
#include <limits>
#include <optional>
#include <stdexcept>
#include <type_traits>

using namespace PluginHost;
using namespace std::chrono_literals;

namespace
{
constexpr auto jobTimeout = 60s;

// A Python exception, copied out of the interpreter.
struct RaisedError {
    QString type; // "TypeError"; empty when no exception was set
    QString message; // str(exception)
};

// What one conversion produced. PyObject pointers never leave the interpreter's thread.
struct Outcome {
    QString fixtureError; // evaluating the row's Python fixture failed: a broken test, not a finding
    bool converted = false;
    QVariant value; // what fromPython() produced
    QString pythonType; // type(x).__name__ of what toPython() produced
    QString pythonRepr; // repr(x), for failure messages
    bool checkPassed = false; // the row's Python check, evaluated with x bound to the result
    RaisedError error; // why the conversion (or the check) failed
    bool exceptionLeftSet = false; // a successful conversion must leave no exception behind
};

// Python side: the interpreter's thread, its GIL held.

QString text(PyObject *object, bool useRepr = false)
{
    PyRef string = PyRef::steal(useRepr ? PyObject_Repr(object) : PyObject_Str(object));
    Py_ssize_t size = 0;
    const char *utf8 = string ? PyUnicode_AsUTF8AndSize(string.get(), &size) : nullptr;
    if (!utf8) {
        PyErr_Clear();
        return QStringLiteral("<unprintable %1>").arg(QString::fromUtf8(Py_TYPE(object)->tp_name));
    }
    return QString::fromUtf8(utf8, size);
}

RaisedError takeRaised()
{
    PyRef exception = PyRef::steal(PyErr_GetRaisedException());
    if (!exception) {
        return {};
    }
    return {QString::fromUtf8(Py_TYPE(exception.get())->tp_name), text(exception.get())};
}

// Runs the `setup` statements, then evaluates `expression`, with `x` bound when given.
PyRef evaluate(const QString &expression, PyObject *x = nullptr, const QString &setup = QString())
{
    // PyRun_String adds __builtins__ to globals that lack it.
    PyRef globals = PyRef::steal(PyDict_New());
    if (!globals || (x && PyDict_SetItemString(globals.get(), "x", x) < 0)) {
        return PyRef();
    }
    if (!setup.isEmpty()) {
        PyRef done = PyRef::steal(PyRun_String(setup.toUtf8().constData(), Py_file_input, globals.get(), globals.get()));
        if (!done) {
            return PyRef();
        }
    }
    return PyRef::steal(PyRun_String(expression.toUtf8().constData(), Py_eval_input, globals.get(), globals.get()));
}

// Fills in the Python type and repr of `object` and whether `check` holds for it.
void inspect(PyObject *object, const QString &check, Outcome *outcome)
{
    outcome->pythonRepr = text(object, true);
    PyRef typeName = evaluate(QStringLiteral("type(x).__name__"), object);
    if (!typeName) {
        outcome->error = takeRaised();
        return;
    }
    outcome->pythonType = text(typeName.get());
    if (check.isEmpty()) {
        outcome->checkPassed = true;
        return;
    }
    PyRef passed = evaluate(check, object);
    const int truth = passed ? PyObject_IsTrue(passed.get()) : -1;
    if (truth < 0) {
        outcome->error = takeRaised();
        return;
    }
    outcome->checkPassed = truth == 1;
}

Outcome convertToPython(const QVariant &value, const QString &where, bool asTuple, const QString &check)
{
    Outcome outcome;
    PyRef object = PyRef::steal(asTuple ? Values::toPythonTuple(value.toList(), where) : Values::toPython(value, where));
    if (!object) {
        outcome.error = takeRaised();
        return outcome;
    }
    outcome.converted = true;
    outcome.exceptionLeftSet = PyErr_Occurred() != nullptr;
    inspect(object.get(), check, &outcome);
    return outcome;
}

Outcome convertFromPython(const QString &expression, const QString &setup, const QString &where)
{
    Outcome outcome;
    PyRef object = evaluate(expression, nullptr, setup);
    if (!object) {
        const RaisedError error = takeRaised();
        outcome.fixtureError = QStringLiteral("%1: %2").arg(error.type, error.message);
        return outcome;
    }
    outcome.pythonRepr = text(object.get(), true);
    if (!Values::fromPython(object.get(), &outcome.value, where)) {
        outcome.error = takeRaised();
        return outcome;
    }
    outcome.converted = true;
    outcome.exceptionLeftSet = PyErr_Occurred() != nullptr;
    return outcome;
}

// Qt → Python → Qt.
Outcome roundTrip(const QVariant &value)
{
    Outcome outcome;
    PyRef object = PyRef::steal(Values::toPython(value, QStringLiteral("value")));
    if (!object) {
        outcome.error = takeRaised();
        return outcome;
    }
    outcome.pythonRepr = text(object.get(), true);
    if (!Values::fromPython(object.get(), &outcome.value, QStringLiteral("value"))) {
        outcome.error = takeRaised();
        return outcome;
    }
    outcome.converted = true;
    outcome.exceptionLeftSet = PyErr_Occurred() != nullptr;
    return outcome;
}

/*
 * While alive, CPython's allocations of `threshold` bytes or more fail, as when memory runs
 * out; smaller ones go through. It wraps the allocators in place (as tracemalloc does), for
 * the span of one conversion on the interpreter's thread, while no other thread runs Python.
 */
class LargeAllocationsFail
{
public:
    explicit LargeAllocationsFail(size_t threshold)
    {
        for (Hook *hook : {&m_memory, &m_objects}) {
            hook->threshold = threshold;
            PyMem_GetAllocator(hook->domain, &hook->original);
            PyMemAllocatorEx wrapped{hook, allocate, allocateZeroed, reallocate, release};
            PyMem_SetAllocator(hook->domain, &wrapped);
        }
    }
    ~LargeAllocationsFail()
    {
        for (Hook *hook : {&m_memory, &m_objects}) {
            PyMem_SetAllocator(hook->domain, &hook->original);
        }
    }
    LargeAllocationsFail(const LargeAllocationsFail &) = delete;
    LargeAllocationsFail &operator=(const LargeAllocationsFail &) = delete;

private:
    struct Hook {
        PyMemAllocatorDomain domain;
        PyMemAllocatorEx original = {};
        size_t threshold = 0;
    };

    static void *allocate(void *context, size_t size)
    {
        auto *hook = static_cast<Hook *>(context);
        return size >= hook->threshold ? nullptr : hook->original.malloc(hook->original.ctx, size);
    }
    static void *allocateZeroed(void *context, size_t count, size_t size)
    {
        auto *hook = static_cast<Hook *>(context);
        return count * size >= hook->threshold ? nullptr : hook->original.calloc(hook->original.ctx, count, size);
    }
    static void *reallocate(void *context, void *pointer, size_t size)
    {
        auto *hook = static_cast<Hook *>(context);
        return size >= hook->threshold ? nullptr : hook->original.realloc(hook->original.ctx, pointer, size);
    }
    static void release(void *context, void *pointer)
    {
        auto *hook = static_cast<Hook *>(context);
        hook->original.free(hook->original.ctx, pointer);
    }

    Hook m_memory{PYMEM_DOMAIN_MEM};
    Hook m_objects{PYMEM_DOMAIN_OBJ};
};

constexpr size_t allocationLimit = 4 * 1024 * 1024;

// Python → Qt with every allocation of allocationLimit bytes or more failing.
Outcome convertFromPythonShortOfMemory(const QString &expression, const QString &where)
{
    Outcome outcome;
    PyRef object = evaluate(expression);
    if (!object) {
        const RaisedError error = takeRaised();
        outcome.fixtureError = QStringLiteral("%1: %2").arg(error.type, error.message);
        return outcome;
    }
    {
        LargeAllocationsFail shortOfMemory(allocationLimit);
        outcome.converted = Values::fromPython(object.get(), &outcome.value, where);
    }
    outcome.error = takeRaised();
    return outcome;
}

// Qt → Python, the same way.
Outcome convertToPythonShortOfMemory(const QVariant &value, const QString &where)
{
    Outcome outcome;
    PyRef object;
    {
        LargeAllocationsFail shortOfMemory(allocationLimit);
        object = PyRef::steal(Values::toPython(value, where));
    }
    outcome.converted = bool(object);
    outcome.error = takeRaised();
    return outcome;
}

// Test side.

// The types inside a value, so that comparisons also catch an int that came back as a bool.
QString typeTree(const QVariant &value)
{
    if (!value.isValid()) {
        return QStringLiteral("invalid");
    }
    QStringList items;
    switch (value.typeId()) {
    case QMetaType::QVariantList:
        for (const QVariant &item : value.toList()) {
            items.append(typeTree(item));
        }
        return QLatin1String("QVariantList[") + items.join(QLatin1String(", ")) + QLatin1Char(']');
    case QMetaType::QVariantMap: {
        const QVariantMap map = value.toMap();
        for (auto it = map.cbegin(); it != map.cend(); ++it) {
            items.append(it.key() + QLatin1String(": ") + typeTree(it.value()));
        }
        return QLatin1String("QVariantMap{") + items.join(QLatin1String(", ")) + QLatin1Char('}');
    }
    default:
        return QString::fromLatin1(value.metaType().name());
    }
}

QVariant nestedLists(int depth)
{
    QVariant value = QVariantList();
    for (int level = 1; level < depth; ++level) {
        value = QVariantList{value};
    }
    return value;
}

QString nestedListsSetup(int depth)
{
    return QStringLiteral("x = []\nfor _ in range(%1):\n    x = [x]\n").arg(depth - 1);
}

// The message names exactly this position: `args[1]`, but not as part of `args[1][0]`.
bool namesPosition(const QString &message, const QString &path)
{
    return message.contains(QRegularExpression(QLatin1String("(^|\\W)") + QRegularExpression::escape(path) + QLatin1String("(?!\\[)")));
}

QString describe(const Outcome &outcome)
{
    return QStringLiteral("converted: %1, python: %2 %3, error: %4: %5, Qt value: %6")
        .arg(outcome.converted ? QStringLiteral("yes") : QStringLiteral("no"),
             outcome.pythonType,
             outcome.pythonRepr,
             outcome.error.type,
             outcome.error.message,
             typeTree(outcome.value));
}

const QString emoji = QStringLiteral("😀"); // U+1F600, a surrogate pair in UTF-16
const QString withNul = QString::fromUtf16(u"a\0b", 3);
const QByteArray bytesWithNuls = QByteArray("\0a\0\xff", 4);
} // namespace

class ValuesTest : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();

    void testToPython_data();
    void testToPython();
    void testToPythonTuple();
    void testFromPython_data();
    void testFromPython();
    void testFromPythonNan();
    void testRoundTrip_data();
    void testRoundTrip();
    void testUnsupportedPythonValue_data();
    void testUnsupportedPythonValue();
    void testUnsupportedQtValue_data();
    void testUnsupportedQtValue();
    void testTooDeepQtValue();
    void testSelfReference_data();
    void testSelfReference();
    void testLoneSurrogateFromPython_data();
    void testLoneSurrogateFromPython();
    void testLoneSurrogateToPython();
    void testMemoryErrorFromPython_data();
    void testMemoryErrorFromPython();
    void testMemoryErrorToPython_data();
    void testMemoryErrorToPython();

private:
    // Runs `work` on the interpreter's thread with its GIL held; nullopt when it did not run.
    template<typename Work>
    std::optional<std::invoke_result_t<Work>> inInterpreter(Work work);

    std::shared_ptr<Interpreter> m_interpreter;
};

template<typename Work>
std::optional<std::invoke_result_t<Work>> ValuesTest::inInterpreter(Work work)
{
    using Result = std::invoke_result_t<Work>;
    auto promise = std::make_shared<std::promise<Result>>();
    std::future<Result> future = promise->get_future();
    m_interpreter->post(Job::fromFunctions(
        Job::Kind::Ordinary,
        [promise, work](Interpreter &) {
            promise->set_value(work());
            return 0;
        },
        [promise](Job::DiscardReason, const QString &detail) {
            promise->set_exception(std::make_exception_ptr(std::runtime_error(detail.toStdString())));
        }));
    if (future.wait_for(jobTimeout) != std::future_status::ready) {
        qWarning("the interpreter did not run the job within %lld s", static_cast<long long>(jobTimeout.count()));
        return std::nullopt;
    }
    try {
        return future.get();
    } catch (const std::runtime_error &discarded) {
        qWarning("the interpreter discarded the job: %s", discarded.what());
        return std::nullopt;
    }
}

void ValuesTest::initTestCase()
{
    Interpreter::Config config;
    config.name = QStringLiteral("valuestest");
    m_interpreter = Interpreter::start(config);
    const auto version = inInterpreter([] {
        return QString::fromUtf8(Py_GetVersion());
    });
    QVERIFY2(version, qPrintable(m_interpreter->creationError()));
    QVERIFY(m_interpreter->id() > 0);
    QCOMPARE(m_interpreter->gil(), Interpreter::Isolation::OwnGil);
}

void ValuesTest::cleanupTestCase()
{
    if (m_interpreter) {
        m_interpreter->stop();
        QVERIFY(m_interpreter->wait(5s));
    }
}

void ValuesTest::testToPython_data()
{
    QTest::addColumn<QVariant>("value");
    QTest::addColumn<QString>("pythonType");
    QTest::addColumn<QString>("check"); // a Python expression about the result x

    const QString none = QStringLiteral("NoneType");
    const QString boolean = QStringLiteral("bool");
    const QString integer = QStringLiteral("int");
    const QString real = QStringLiteral("float");
    const QString str = QStringLiteral("str");
    const QString bytes = QStringLiteral("bytes");
    const QString list = QStringLiteral("list");
    const QString dict = QStringLiteral("dict");

    QTest::newRow("invalid") << QVariant() << none << QStringLiteral("x is None");
    QTest::newRow("nullptr") << QVariant::fromValue(nullptr) << none << QStringLiteral("x is None");
    QTest::newRow("true") << QVariant(true) << boolean << QStringLiteral("x is True");
    QTest::newRow("false") << QVariant(false) << boolean << QStringLiteral("x is False");
    QTest::newRow("int") << QVariant(42) << integer << QStringLiteral("x == 42");
    QTest::newRow("int negative") << QVariant(-7) << integer << QStringLiteral("x == -7");
    QTest::newRow("int zero") << QVariant(0) << integer << QStringLiteral("x == 0");
    QTest::newRow("qint64 min") << QVariant(std::numeric_limits<qint64>::min()) << integer << QStringLiteral("x == -2**63");
    QTest::newRow("qint64 max") << QVariant(std::numeric_limits<qint64>::max()) << integer << QStringLiteral("x == 2**63 - 1");
    QTest::newRow("uint max") << QVariant(std::numeric_limits<uint>::max()) << integer << QStringLiteral("x == 2**32 - 1");
    QTest::newRow("quint64 max") << QVariant(std::numeric_limits<quint64>::max()) << integer << QStringLiteral("x == 2**64 - 1");
    QTest::newRow("short") << QVariant::fromValue<short>(-300) << integer << QStringLiteral("x == -300");
    QTest::newRow("uchar") << QVariant::fromValue<uchar>(200) << integer << QStringLiteral("x == 200");
    QTest::newRow("double") << QVariant(1.5) << real << QStringLiteral("x == 1.5");
    QTest::newRow("double exact") << QVariant(0.1) << real << QStringLiteral("x == 0.1");
    QTest::newRow("double negative zero") << QVariant(-0.0) << real << QStringLiteral("x == 0 and __import__('math').copysign(1, x) < 0");
    QTest::newRow("double max") << QVariant(std::numeric_limits<double>::max()) << real << QStringLiteral("x == __import__('sys').float_info.max");
    QTest::newRow("double inf") << QVariant(qInf()) << real << QStringLiteral("x == float('inf')");
    QTest::newRow("double -inf") << QVariant(-qInf()) << real << QStringLiteral("x == float('-inf')");
    QTest::newRow("double nan") << QVariant(qQNaN()) << real << QStringLiteral("x != x");
    QTest::newRow("float") << QVariant(0.25f) << real << QStringLiteral("x == 0.25");
    QTest::newRow("str empty") << QVariant(QString()) << str << QStringLiteral("x == ''");
    QTest::newRow("str ascii") << QVariant(QStringLiteral("hello")) << str << QStringLiteral("x == 'hello'");
    QTest::newRow("str non-ascii") << QVariant(QStringLiteral("Grüße, 世界")) << str << QStringLiteral("x == 'Gr\\u00fc\\u00dfe, \\u4e16\\u754c'");
    QTest::newRow("str emoji") << QVariant(emoji) << str << QStringLiteral("x == '\\U0001F600' and len(x) == 1");
    QTest::newRow("str emoji in text") << QVariant(QStringLiteral("a😀b")) << str << QStringLiteral("x == 'a\\U0001F600b' and len(x) == 3");
    QTest::newRow("str embedded nul") << QVariant(withNul) << str << QStringLiteral("x == 'a\\x00b' and len(x) == 3");
    QTest::newRow("bytes empty") << QVariant(QByteArray()) << bytes << QStringLiteral("x == b''");
    QTest::newRow("bytes with nuls") << QVariant(bytesWithNuls) << bytes << QStringLiteral("x == b'\\x00a\\x00\\xff'");
    QTest::newRow("list empty") << QVariant(QVariantList()) << list << QStringLiteral("x == []");
    QTest::newRow("list mixed") << QVariant(QVariantList{1, QStringLiteral("two"), QVariant(), 2.5, true, QByteArray("b")}) << list
                                << QStringLiteral("x == [1, 'two', None, 2.5, True, b'b'] and type(x[4]) is bool");
    QTest::newRow("string list") << QVariant(QStringList{QStringLiteral("a"), QStringLiteral("ä")}) << list << QStringLiteral("x == ['a', '\\u00e4']");
    QTest::newRow("string list empty") << QVariant(QStringList()) << list << QStringLiteral("x == []");
    QTest::newRow("map empty") << QVariant(QVariantMap()) << dict << QStringLiteral("x == {}");
    QTest::newRow("map nested") << QVariant(QVariantMap{{QStringLiteral("outer"),
                                                         QVariantMap{{QStringLiteral("list"), QVariantList{1, QVariantMap{{QStringLiteral("deep"), QVariant()}}}},
                                                                     {QStringLiteral("ключ"), QStringLiteral("значение")}}}})
                                << dict << QStringLiteral("x == {'outer': {'list': [1, {'deep': None}], '\\u043a\\u043b\\u044e\\u0447': '\\u0437\\u043d\\u0430\\u0447\\u0435\\u043d\\u0438\\u0435'}}");
    QTest::newRow("map emoji key") << QVariant(QVariantMap{{emoji, 1}}) << dict << QStringLiteral("x == {'\\U0001F600': 1}");
    QTest::newRow("hash empty") << QVariant(QVariantHash()) << dict << QStringLiteral("x == {}");
    QTest::newRow("hash") << QVariant(QVariantHash{{QStringLiteral("a"), 1}, {QStringLiteral("b"), QVariantList{QStringLiteral("c")}}}) << dict
                          << QStringLiteral("x == {'a': 1, 'b': ['c']}");
    QTest::newRow("nested 150 deep") << nestedLists(150) << list << QStringLiteral("repr(x) == '[' * 150 + ']' * 150");
}

void ValuesTest::testToPython()
{
    QFETCH(QVariant, value);
    QFETCH(QString, pythonType);
    QFETCH(QString, check);

    const auto outcome = inInterpreter([value, check] {
        return convertToPython(value, QStringLiteral("value"), false, check);
    });
    QVERIFY(outcome);
    QVERIFY2(outcome->converted, qPrintable(describe(*outcome)));
    QVERIFY(!outcome->exceptionLeftSet);
    QCOMPARE(outcome->pythonType, pythonType);
    QVERIFY2(outcome->checkPassed, qPrintable(QStringLiteral("%1 does not hold for %2").arg(check, describe(*outcome))));
}

void ValuesTest::testToPythonTuple()
{
    const auto tuple = inInterpreter([] {
        return convertToPython(QVariantList{1, QStringLiteral("two"), QVariantList{3}}, QStringLiteral("args"), true, QStringLiteral("x == (1, 'two', [3])"));
    });
    QVERIFY(tuple);
    QVERIFY2(tuple->converted, qPrintable(describe(*tuple)));
    QCOMPARE(tuple->pythonType, QStringLiteral("tuple"));
    QVERIFY2(tuple->checkPassed, qPrintable(describe(*tuple)));

    const auto empty = inInterpreter([] {
        return convertToPython(QVariantList(), QStringLiteral("args"), true, QStringLiteral("x == ()"));
    });
    QVERIFY(empty);
    QVERIFY2(empty->converted, qPrintable(describe(*empty)));
    QCOMPARE(empty->pythonType, QStringLiteral("tuple"));
    QVERIFY2(empty->checkPassed, qPrintable(describe(*empty)));
}

void ValuesTest::testFromPython_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("setup");
    QTest::addColumn<QVariant>("expected");

    const QString noSetup;
    QTest::newRow("None") << QStringLiteral("None") << noSetup << QVariant();
    QTest::newRow("True") << QStringLiteral("True") << noSetup << QVariant(true);
    QTest::newRow("False") << QStringLiteral("False") << noSetup << QVariant(false);
    QTest::newRow("int") << QStringLiteral("42") << noSetup << QVariant(qlonglong(42));
    QTest::newRow("int zero") << QStringLiteral("0") << noSetup << QVariant(qlonglong(0));
    QTest::newRow("int negative") << QStringLiteral("-1") << noSetup << QVariant(qlonglong(-1));
    QTest::newRow("int 64-bit max") << QStringLiteral("2**63 - 1") << noSetup << QVariant(std::numeric_limits<qlonglong>::max());
    QTest::newRow("int 64-bit min") << QStringLiteral("-2**63") << noSetup << QVariant(std::numeric_limits<qlonglong>::min());
    QTest::newRow("int subclass") << QStringLiteral("__import__('enum').IntEnum('E', 'A B').B") << noSetup << QVariant(qlonglong(2));
    QTest::newRow("float") << QStringLiteral("1.5") << noSetup << QVariant(1.5);
    QTest::newRow("float inexact") << QStringLiteral("0.1 + 0.2") << noSetup << QVariant(0.1 + 0.2);
    QTest::newRow("float inf") << QStringLiteral("float('inf')") << noSetup << QVariant(qInf());
    QTest::newRow("float -inf") << QStringLiteral("float('-inf')") << noSetup << QVariant(-qInf());
    QTest::newRow("float integral") << QStringLiteral("3.0") << noSetup << QVariant(3.0);
    QTest::newRow("str empty") << QStringLiteral("''") << noSetup << QVariant(QString());
    QTest::newRow("str non-ascii") << QStringLiteral("'Gr\\u00fc\\u00dfe, \\u4e16\\u754c'") << noSetup << QVariant(QStringLiteral("Grüße, 世界"));
    QTest::newRow("str emoji") << QStringLiteral("'a\\U0001F600b'") << noSetup << QVariant(QStringLiteral("a😀b"));
    QTest::newRow("str embedded nul") << QStringLiteral("'a\\x00b'") << noSetup << QVariant(withNul);
    QTest::newRow("bytes empty") << QStringLiteral("b''") << noSetup << QVariant(QByteArray());
    QTest::newRow("bytes with nuls") << QStringLiteral("b'\\x00a\\x00\\xff'") << noSetup << QVariant(bytesWithNuls);
    QTest::newRow("bytearray") << QStringLiteral("bytearray(b'\\x00a\\x00\\xff')") << noSetup << QVariant(bytesWithNuls);
    QTest::newRow("bytearray empty") << QStringLiteral("bytearray()") << noSetup << QVariant(QByteArray());
    QTest::newRow("list empty") << QStringLiteral("[]") << noSetup << QVariant(QVariantList());
    QTest::newRow("list mixed") << QStringLiteral("[1, 'two', None, 2.5, True, b'b']") << noSetup
                                << QVariant(QVariantList{qlonglong(1), QStringLiteral("two"), QVariant(), 2.5, true, QByteArray("b")});
    QTest::newRow("tuple") << QStringLiteral("(1, ('a',))") << noSetup << QVariant(QVariantList{qlonglong(1), QVariantList{QStringLiteral("a")}});
    QTest::newRow("tuple empty") << QStringLiteral("()") << noSetup << QVariant(QVariantList());
    QTest::newRow("dict empty") << QStringLiteral("{}") << noSetup << QVariant(QVariantMap());
    QTest::newRow("dict nested") << QStringLiteral("{'b': {'list': [1, {'deep': None}], '\\u043a\\u043b\\u044e\\u0447': (b'\\x00',)}, 'a': 1.0}") << noSetup
                                 << QVariant(QVariantMap{{QStringLiteral("a"), 1.0},
                                                         {QStringLiteral("b"),
                                                          QVariantMap{{QStringLiteral("list"), QVariantList{qlonglong(1), QVariantMap{{QStringLiteral("deep"), QVariant()}}}},
                                                                      {QStringLiteral("ключ"), QVariantList{QByteArray("\0", 1)}}}}});
    QTest::newRow("dict emoji key") << QStringLiteral("{'\\U0001F600': []}") << noSetup << QVariant(QVariantMap{{emoji, QVariantList()}});
    QTest::newRow("shared sublist") << QStringLiteral("[y, y]") << QStringLiteral("y = [1]") << QVariant(QVariantList{QVariantList{qlonglong(1)}, QVariantList{qlonglong(1)}});
    QTest::newRow("nested 150 deep") << QStringLiteral("x") << nestedListsSetup(150) << nestedLists(150);
}

void ValuesTest::testFromPython()
{
    QFETCH(QString, expression);
    QFETCH(QString, setup);
    QFETCH(QVariant, expected);

    const auto outcome = inInterpreter([expression, setup] {
        return convertFromPython(expression, setup, QStringLiteral("result"));
    });
    QVERIFY(outcome);
    QVERIFY2(outcome->fixtureError.isEmpty(), qPrintable(outcome->fixtureError));
    QVERIFY2(outcome->converted, qPrintable(describe(*outcome)));
    QVERIFY(!outcome->exceptionLeftSet);
    QCOMPARE(typeTree(outcome->value), typeTree(expected));
    QCOMPARE(outcome->value, expected);
}

void ValuesTest::testFromPythonNan()
{
    const auto outcome = inInterpreter([] {
        return convertFromPython(QStringLiteral("[float('nan')]"), QString(), QStringLiteral("result"));
    });
    QVERIFY(outcome);
    QVERIFY2(outcome->converted, qPrintable(describe(*outcome)));
    const QVariantList list = outcome->value.toList();
    QCOMPARE(list.size(), 1);
    QCOMPARE(list.first().typeId(), QMetaType::Double);
    QVERIFY(std::isnan(list.first().toDouble()));
}

void ValuesTest::testRoundTrip_data()
{
    QTest::addColumn<QVariant>("value");
    QTest::addColumn<QVariant>("expected"); // what comes back, in the types Python hands back

    auto same = [](const char *name, const QVariant &value) {
        QTest::newRow(name) << value << value;
    };
    same("invalid", QVariant());
    same("true", QVariant(true));
    same("false", QVariant(false));
    same("qint64 min", QVariant(std::numeric_limits<qlonglong>::min()));
    same("qint64 max", QVariant(std::numeric_limits<qlonglong>::max()));
    same("qint64 negative", QVariant(qlonglong(-123456789012)));
    same("double", QVariant(-2.75));
    same("double smallest", QVariant(std::numeric_limits<double>::denorm_min()));
    same("double inf", QVariant(qInf()));
    same("str empty", QVariant(QString()));
    same("str non-ascii", QVariant(QStringLiteral("Grüße, 世界")));
    same("str emoji", QVariant(QStringLiteral("a😀b")));
    same("str embedded nul", QVariant(withNul));
    same("bytes with nuls", QVariant(bytesWithNuls));
    same("list", QVariant(QVariantList{qlonglong(1), QStringLiteral("x"), QVariant(), QVariantList{2.5}}));
    same("map", QVariant(QVariantMap{{QStringLiteral("b"), QVariantMap{{QStringLiteral("c"), QVariantList()}}}, {QStringLiteral("a"), QByteArray("\0", 1)}}));
    same("map empty", QVariant(QVariantMap()));
    same("nested 150 deep", nestedLists(150));

    QTest::newRow("int") << QVariant(7) << QVariant(qlonglong(7));
    QTest::newRow("uint") << QVariant(7u) << QVariant(qlonglong(7));
    QTest::newRow("float") << QVariant(0.5f) << QVariant(0.5);
    QTest::newRow("nullptr") << QVariant::fromValue(nullptr) << QVariant();
    QTest::newRow("string list") << QVariant(QStringList{QStringLiteral("a"), QStringLiteral("😀")})
                                 << QVariant(QVariantList{QStringLiteral("a"), QStringLiteral("😀")});
    QTest::newRow("hash") << QVariant(QVariantHash{{QStringLiteral("k"), 1}}) << QVariant(QVariantMap{{QStringLiteral("k"), qlonglong(1)}});
}

void ValuesTest::testRoundTrip()
{
    QFETCH(QVariant, value);
    QFETCH(QVariant, expected);

    const auto outcome = inInterpreter([value] {
        return roundTrip(value);
    });
    QVERIFY(outcome);
    QVERIFY2(outcome->converted, qPrintable(describe(*outcome)));
    QVERIFY(!outcome->exceptionLeftSet);
    QCOMPARE(typeTree(outcome->value), typeTree(expected));
    QCOMPARE(outcome->value, expected);
}

void ValuesTest::testUnsupportedPythonValue_data()
{
    QTest::addColumn<QString>("setup");
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("errorType");
    QTest::addColumn<QString>("path"); // the position the message must name exactly
    QTest::addColumn<QString>("mentions"); // what else the message must say

    const QString noSetup;
    const QString typeError = QStringLiteral("TypeError");
    const QString overflowError = QStringLiteral("OverflowError");
    const QString result = QStringLiteral("result");
    const QString args = QStringLiteral("args");

    QTest::newRow("set at args[1][cover]") << noSetup << QStringLiteral("('title', {'cover': {1, 2}})") << args << typeError
                                           << QStringLiteral("args[1][\"cover\"]") << QStringLiteral("set");
    QTest::newRow("object at root") << noSetup << QStringLiteral("object()") << result << typeError << result << QStringLiteral("object");
    QTest::newRow("complex in list") << noSetup << QStringLiteral("[1, 2, 3j]") << result << typeError << QStringLiteral("result[2]") << QStringLiteral("complex");
    QTest::newRow("datetime in dict in list") << QStringLiteral("import datetime") << QStringLiteral("[{'when': datetime.datetime(2024, 2, 29)}]") << result
                                              << typeError << QStringLiteral("result[0][\"when\"]") << QStringLiteral("datetime");
    QTest::newRow("frozenset after good items") << noSetup << QStringLiteral("{'a': 1, 'b': [None, frozenset()]}") << result << typeError
                                                << QStringLiteral("result[\"b\"][1]") << QStringLiteral("frozenset");
    QTest::newRow("function") << noSetup << QStringLiteral("{'callback': len}") << result << typeError << QStringLiteral("result[\"callback\"]")
                              << QStringLiteral("builtin_function_or_method");
    QTest::newRow("instance") << QStringLiteral("class Cover:\n    pass\n") << QStringLiteral("[Cover()]") << result << typeError << QStringLiteral("result[0]")
                              << QStringLiteral("Cover");
    QTest::newRow("key with quotes") << noSetup << QStringLiteral("{'say \"hi\"': set()}") << result << typeError
                                     << QStringLiteral("result[\"say \\\"hi\\\"\"]") << QStringLiteral("set");
    QTest::newRow("key non-ascii") << noSetup << QStringLiteral("{'Gr\\u00fc\\u00dfe': [1j]}") << result << typeError << QStringLiteral("result[\"Grüße\"][0]")
                                   << QStringLiteral("complex");
    QTest::newRow("int key") << noSetup << QStringLiteral("{1: 'one'}") << result << typeError << result << QStringLiteral("int");
    QTest::newRow("tuple key nested") << noSetup << QStringLiteral("{'outer': {(1, 2): 'x'}}") << result << typeError << QStringLiteral("result[\"outer\"]")
                                      << QStringLiteral("tuple");
    QTest::newRow("bytes key") << noSetup << QStringLiteral("[{b'k': 1}]") << result << typeError << QStringLiteral("result[0]") << QStringLiteral("bytes");
    // Only pluginhost.Buffer crosses without a copy; other bytes-like objects are not guessed at.
    QTest::newRow("memoryview") << noSetup << QStringLiteral("[b'', memoryview(b'abc')]") << result << typeError << QStringLiteral("result[1]")
                                << QStringLiteral("memoryview");
    QTest::newRow("int 2**63") << noSetup << QStringLiteral("2**63") << result << overflowError << result << QStringLiteral("str");
    QTest::newRow("int -2**63-1") << noSetup << QStringLiteral("-2**63 - 1") << result << overflowError << result << QStringLiteral("str");
    QTest::newRow("int 2**100 nested") << noSetup << QStringLiteral("{'id': [0, 2**100]}") << result << overflowError << QStringLiteral("result[\"id\"][1]")
                                       << QStringLiteral("str");
}

void ValuesTest::testUnsupportedPythonValue()
{
    QFETCH(QString, setup);
    QFETCH(QString, expression);
    QFETCH(QString, where);
    QFETCH(QString, errorType);
    QFETCH(QString, path);
    QFETCH(QString, mentions);

    const auto outcome = inInterpreter([expression, setup, where] {
        return convertFromPython(expression, setup, where);
    });
    QVERIFY(outcome);
    QVERIFY2(outcome->fixtureError.isEmpty(), qPrintable(outcome->fixtureError));
    QVERIFY2(!outcome->converted, qPrintable(describe(*outcome)));
    QCOMPARE(outcome->error.type, errorType);
    const QString &message = outcome->error.message;
    QVERIFY2(namesPosition(message, path), qPrintable(QStringLiteral("'%1' does not name the position %2").arg(message, path)));
    QVERIFY2(message.contains(mentions), qPrintable(QStringLiteral("'%1' does not mention %2").arg(message, mentions)));
    if (errorType == QLatin1String("OverflowError")) {
        static const QRegularExpression advice(QStringLiteral("pass .*\\bstr\\b"));
        QVERIFY2(message.contains(advice), qPrintable(QStringLiteral("'%1' does not say to pass the int as a str").arg(message)));
    }
}

void ValuesTest::testUnsupportedQtValue_data()
{
    QTest::addColumn<QVariant>("value");
    QTest::addColumn<bool>("asTuple");
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("qtType");

    const QString value = QStringLiteral("value");
    const QDateTime moment(QDate(2024, 2, 29), QTime(12, 30), Qt::UTC);
    const QUrl cover(QStringLiteral("https://example.org/cover.png"));

    QTest::newRow("QDateTime at root") << QVariant(moment) << false << value << value << QStringLiteral("QDateTime");
    QTest::newRow("QUrl at args[1][cover]") << QVariant(QVariantList{QStringLiteral("title"), QVariantMap{{QStringLiteral("cover"), cover}}}) << true
                                            << QStringLiteral("args") << QStringLiteral("args[1][\"cover\"]") << QStringLiteral("QUrl");
    QTest::newRow("QUrl in list") << QVariant(QVariantList{1, 2, cover}) << false << value << QStringLiteral("value[2]") << QStringLiteral("QUrl");
    QTest::newRow("QDate in list in list") << QVariant(QVariantList{QVariantList{1, QDate(2024, 1, 1)}}) << false << value << QStringLiteral("value[0][1]")
                                           << QStringLiteral("QDate");
    QTest::newRow("QUuid in hash") << QVariant(QVariantHash{{QStringLiteral("id"), QUuid::createUuid()}}) << false << value << QStringLiteral("value[\"id\"]")
                                   << QStringLiteral("QUuid");
    // A Buffer becomes a pluginhost.Buffer, which only a plugin's interpreter has.
    QTest::newRow("Buffer outside a plugin") << QVariant(QVariantList{1, QVariant::fromValue(Buffer(QByteArray("bytes")))}) << false << value
                                             << QStringLiteral("value[1]") << QStringLiteral("PluginHost::Buffer");
    QTest::newRow("QPointF in map key with quote") << QVariant(QVariantMap{{QStringLiteral("a\"b"), QPointF(1, 2)}}) << false << value
                                                   << QStringLiteral("value[\"a\\\"b\"]") << QStringLiteral("QPointF");
}

void ValuesTest::testUnsupportedQtValue()
{
    QFETCH(QVariant, value);
    QFETCH(bool, asTuple);
    QFETCH(QString, where);
    QFETCH(QString, path);
    QFETCH(QString, qtType);

    const auto outcome = inInterpreter([value, asTuple, where] {
        return convertToPython(value, where, asTuple, QString());
    });
    QVERIFY(outcome);
    QVERIFY2(!outcome->converted, qPrintable(describe(*outcome)));
    QCOMPARE(outcome->error.type, QStringLiteral("TypeError"));
    const QString &message = outcome->error.message;
    QVERIFY2(namesPosition(message, path), qPrintable(QStringLiteral("'%1' does not name the position %2").arg(message, path)));
    QVERIFY2(message.contains(qtType), qPrintable(QStringLiteral("'%1' does not name the type %2").arg(message, qtType)));
}

void ValuesTest::testTooDeepQtValue()
{
    // Nesting has a limit, so that conversion never exhausts the C stack.
    const QVariant value = nestedLists(300);
    const auto outcome = inInterpreter([value] {
        return convertToPython(value, QStringLiteral("value"), false, QString());
    });
    QVERIFY(outcome);
    QVERIFY2(!outcome->converted, qPrintable(describe(*outcome)));
    QVERIFY2(!outcome->error.type.isEmpty(), "the conversion failed without setting an exception");
    QVERIFY2(outcome->error.message.contains(QLatin1String("deep")), qPrintable(outcome->error.message));
}

void ValuesTest::testSelfReference_data()
{
    QTest::addColumn<QString>("setup");

    QTest::newRow("list containing itself") << QStringLiteral("x = [1]\nx.append(x)\n");
    QTest::newRow("dict containing itself") << QStringLiteral("x = {}\nx['self'] = x\n");
    QTest::newRow("list via dict") << QStringLiteral("x = [{'back': None}]\nx[0]['back'] = x\n");
    QTest::newRow("too deep, no cycle") << nestedListsSetup(300);
}

void ValuesTest::testSelfReference()
{
    QFETCH(QString, setup);

    const auto outcome = inInterpreter([setup] {
        return convertFromPython(QStringLiteral("x"), setup, QStringLiteral("result"));
    });
    QVERIFY(outcome);
    QVERIFY2(outcome->fixtureError.isEmpty(), qPrintable(outcome->fixtureError));
    QVERIFY2(!outcome->converted, qPrintable(describe(*outcome)));
    QVERIFY2(!outcome->error.type.isEmpty(), "the conversion failed without setting an exception");
    QVERIFY2(outcome->error.message.startsWith(QLatin1String("result")), qPrintable(outcome->error.message));
}

void ValuesTest::testLoneSurrogateFromPython_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("path"); // the position the message must name exactly

    const QString result = QStringLiteral("result");
    QTest::newRow("str") << QStringLiteral("'\\ud800'") << result << result;
    QTest::newRow("in text") << QStringLiteral("'a\\udfffb'") << result << result;
    QTest::newRow("in list") << QStringLiteral("['ok', '\\ud800']") << result << QStringLiteral("result[1]");
    QTest::newRow("dict value") << QStringLiteral("{'k': '\\udcff'}") << result << QStringLiteral("result[\"k\"]");
    QTest::newRow("dict key") << QStringLiteral("{'\\udc80': 1}") << result << QStringLiteral("a key of result");
    QTest::newRow("nested dict key") << QStringLiteral("{'outer': [{'\\udc80': 1}]}") << result << QStringLiteral("a key of result[\"outer\"][0]");
    QTest::newRow("call argument") << QStringLiteral("(1, {'k': '\\udcff'})") << QStringLiteral("args") << QStringLiteral("args[1][\"k\"]");
    QTest::newRow("export result") << QStringLiteral("{'k': '\\udcff'}") << QStringLiteral("the result of f()") << QStringLiteral("the result of f()[\"k\"]");
    QTest::newRow("event payload") << QStringLiteral("{'k': ['\\udcff']}") << QStringLiteral("payload") << QStringLiteral("payload[\"k\"][0]");
}

void ValuesTest::testLoneSurrogateFromPython()
{
    QFETCH(QString, expression);
    QFETCH(QString, where);
    QFETCH(QString, path);

    const auto outcome = inInterpreter([expression, where] {
        return convertFromPython(expression, QString(), where);
    });
    QVERIFY(outcome);
    QVERIFY2(outcome->fixtureError.isEmpty(), qPrintable(outcome->fixtureError));
    QVERIFY2(!outcome->converted, qPrintable(describe(*outcome)));
    // Still a UnicodeEncodeError (its character and index intact), now saying where it sat.
    QCOMPARE(outcome->error.type, QStringLiteral("UnicodeEncodeError"));
    const QString &message = outcome->error.message;
    QVERIFY2(namesPosition(message, path), qPrintable(QStringLiteral("'%1' does not name the position %2").arg(message, path)));
    QVERIFY2(message.contains(QLatin1String("surrogates not allowed")), qPrintable(message));
    QVERIFY2(message.contains(QLatin1String("os.fsencode()")), qPrintable(message));
}

void ValuesTest::testLoneSurrogateToPython()
{
    // A QString can hold a lone surrogate too: it becomes U+FFFD, as in QString::toUtf8().
    const QString lone = QString(QChar(0xD800)) + QLatin1Char('x');
    const auto outcome = inInterpreter([lone] {
        return convertToPython(lone, QStringLiteral("value"), false, QStringLiteral("x == '\\ufffdx'"));
    });
    QVERIFY(outcome);
    QVERIFY2(outcome->converted, qPrintable(describe(*outcome)));
    QVERIFY(!outcome->exceptionLeftSet);
    QCOMPARE(outcome->pythonType, QStringLiteral("str"));
    QVERIFY2(outcome->checkPassed, qPrintable(describe(*outcome)));
}

void ValuesTest::testMemoryErrorFromPython_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("path"); // the position the message must name exactly
    QTest::addColumn<QString>("mentions");

    // A str of é is stored one byte per character; its UTF-8 form needs two.
    const QString large = QStringLiteral("'\\u00e9' * 3_000_000");
    const QString described = QStringLiteral("a str of 3000000 characters");
    QTest::newRow("str in dict") << QStringLiteral("{'title': 'ok', 'k': %1}").arg(large) << QStringLiteral("args[0]") << QStringLiteral("args[0][\"k\"]")
                                 << described;
    QTest::newRow("str at root") << large << QStringLiteral("payload") << QStringLiteral("payload") << described;
    QTest::newRow("str in list") << QStringLiteral("[1, [%1]]").arg(large) << QStringLiteral("the result of f()") << QStringLiteral("the result of f()[1][0]")
                                 << described;
    QTest::newRow("dict key") << QStringLiteral("{'inner': {%1: 1}}").arg(large) << QStringLiteral("result") << QStringLiteral("a key of result[\"inner\"]")
                              << described;
}

void ValuesTest::testMemoryErrorFromPython()
{
    QFETCH(QString, expression);
    QFETCH(QString, where);
    QFETCH(QString, path);
    QFETCH(QString, mentions);

    const auto outcome = inInterpreter([expression, where] {
        return convertFromPythonShortOfMemory(expression, where);
    });
    QVERIFY(outcome);
    QVERIFY2(outcome->fixtureError.isEmpty(), qPrintable(outcome->fixtureError));
    QVERIFY2(!outcome->converted, qPrintable(describe(*outcome)));
    QCOMPARE(outcome->error.type, QStringLiteral("MemoryError"));
    const QString &message = outcome->error.message;
    QVERIFY2(namesPosition(message, path), qPrintable(QStringLiteral("'%1' does not name the position %2").arg(message, path)));
    QVERIFY2(message.contains(mentions), qPrintable(QStringLiteral("'%1' does not mention %2").arg(message, mentions)));

    // With the memory back, the same value converts.
    const auto retried = inInterpreter([expression, where] {
        return convertFromPython(expression, QString(), where);
    });
    QVERIFY(retried);
    QVERIFY2(retried->converted, qPrintable(describe(*retried)));
}

void ValuesTest::testMemoryErrorToPython_data()
{
    QTest::addColumn<QVariant>("value");
    QTest::addColumn<QString>("where");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("mentions");

    const QString value = QStringLiteral("value");
    const QByteArray cover(5 * 1024 * 1024, 'x');
    QTest::newRow("bytes in map") << QVariant(QVariantMap{{QStringLiteral("title"), QStringLiteral("ok")}, {QStringLiteral("cover"), cover}}) << value
                                  << QStringLiteral("value[\"cover\"]") << QStringLiteral("5242880 bytes");
    QTest::newRow("string in list") << QVariant(QVariantList{1, QString(5'000'000, QLatin1Char('a'))}) << QStringLiteral("args") << QStringLiteral("args[1]")
                                    << QStringLiteral("a string of 5000000 characters");
    QTest::newRow("long list") << QVariant(QVariantList{QVariant(QVariantList(700'000, 0))}) << value << QStringLiteral("value[0]")
                               << QStringLiteral("a list of 700000 items");
    QTest::newRow("map key") << QVariant(QVariantMap{{QString(5'000'000, QLatin1Char('k')), 1}}) << value << QStringLiteral("a key of value")
                             << QStringLiteral("a string of 5000000 characters");
}

void ValuesTest::testMemoryErrorToPython()
{
    QFETCH(QVariant, value);
    QFETCH(QString, where);
    QFETCH(QString, path);
    QFETCH(QString, mentions);

    const auto outcome = inInterpreter([value, where] {
        return convertToPythonShortOfMemory(value, where);
    });
    QVERIFY(outcome);
    QVERIFY2(!outcome->converted, qPrintable(describe(*outcome)));
    QCOMPARE(outcome->error.type, QStringLiteral("MemoryError"));
    const QString &message = outcome->error.message;
    QVERIFY2(namesPosition(message, path), qPrintable(QStringLiteral("'%1' does not name the position %2").arg(message, path)));
    QVERIFY2(message.contains(mentions), qPrintable(QStringLiteral("'%1' does not mention %2").arg(message, mentions)));
}

QTEST_GUILESS_MAIN(ValuesTest)

#include "valuestest.moc"
