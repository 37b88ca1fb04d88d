; Inno Setup 6 script for the Windows installer. Build the bundle first on Windows:
;   python installer\build.py        (creates dist\ClearBG\)
;   iscc installer\windows\clearbg.iss
#define AppName "ClearBG"
#define AppVersion "0.1.0"
#define AppExe "clearbg.exe"

[Setup]
AppId={{6F1C8A52-3A4D-4F0B-9C3E-7D2B9E4A1C11}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=ClearBG
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
OutputDir=..\..\dist
OutputBaseFilename=ClearBG-{#AppVersion}-windows-setup
SetupIconFile=..\..\resources\icons\clearbg.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/ultra64
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
WizardStyle=modern
; Explorer picks up the .clearbg association at once
ChangesAssociations=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\ClearBG\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; "Open with ClearBG" for common photo types
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}\shell\open\command"; ValueType: string; ValueData: """{app}\{#AppExe}"" ""%1"""; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.jpg\OpenWithList\{#AppExe}"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\.png\OpenWithList\{#AppExe}"; Flags: uninsdeletekey
; .clearbg projects open with ClearBG, with its icon (#43)
Root: HKA; Subkey: "Software\Classes\.clearbg"; ValueType: string; ValueName: ""; ValueData: "ClearBG.Project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.clearbg"; ValueType: string; ValueName: "Content Type"; ValueData: "application/x-clearbg-project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\ClearBG.Project"; ValueType: string; ValueName: ""; ValueData: "ClearBG project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\ClearBG.Project\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe},0"
Root: HKA; Subkey: "Software\Classes\ClearBG.Project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}"" ""%1"""

[Run]
Filename: "{app}\{#AppExe}"; Parameters: "--self-test"; Flags: runhidden waituntilterminated; StatusMsg: "Checking the installation..."
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
