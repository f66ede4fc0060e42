<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<!-- Made with `lupdate greeter.py -ts translations/greeter_de.ts`: pluginhost.tr() lands in the
     context "pluginhost", a bare tr() in the empty one, translate() in the one it names. -->
<TS version="2.1" language="de">
<context>
    <name></name>
    <message>
        <location filename="../greeter.py" line="10"/>
        <source>Goodbye</source>
        <translation>Auf Wiedersehen</translation>
    </message>
</context>
<context>
    <name>greeter</name>
    <message>
        <location filename="../greeter.py" line="11"/>
        <source>Good morning</source>
        <translation>Guten Morgen</translation>
    </message>
</context>
<context>
    <name>pluginhost</name>
    <message>
        <location filename="../greeter.py" line="9"/>
        <source>Hello</source>
        <translation>Hallo</translation>
    </message>
</context>
</TS>
