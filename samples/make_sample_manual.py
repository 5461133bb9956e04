"""Generate samples/hf22-service-manual.pdf, the sample manual the project ships.

Run: python samples/make_sample_manual.py  (needs reportlab, from the test extra)
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

OUT = Path(__file__).with_name("hf22-service-manual.pdf")
TITLE = "HydroFlow HF-22 Centrifugal Pump Service Manual"

styles = getSampleStyleSheet()
H1, H2, BODY = styles["Heading1"], styles["Heading2"], styles["BodyText"]
NOTICE = ParagraphStyle("notice", parent=BODY, fontName="Helvetica-Bold", spaceBefore=4, spaceAfter=4)
STEP = ParagraphStyle("step", parent=BODY, leftIndent=6 * mm)


def table(rows: list[list[str]]) -> Table:
    t = Table(rows, hAlign="LEFT")
    t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                           ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                           ("FONTSIZE", (0, 0), (-1, -1), 9)]))
    return t


def steps(*lines: str) -> list[Paragraph]:
    return [Paragraph(f"{n}. {line}", STEP) for n, line in enumerate(lines, start=1)]


def on_page(canvas, doc) -> None:  # running header and footer, as real manuals have
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.drawString(20 * mm, 287 * mm, "HydroFlow HF-22 Service Manual - Document SM-HF22 Rev. C")
    canvas.drawRightString(190 * mm, 10 * mm, f"Page {doc.page}")
    canvas.restoreState()


def story() -> list:
    s: list = [
        Paragraph(TITLE, styles["Title"]),
        Paragraph("Models HF-22, HF-22S and HF-22X. Read this manual completely before servicing the pump. "
                  "Keep it with the unit for future reference.", BODY),
        Spacer(1, 6 * mm),
        Paragraph("1 Safety", H1),
        Paragraph("WARNING: Disconnect and lock out the electrical supply before any service work. "
                  "The motor can start automatically when the pressure switch closes.", NOTICE),
        Paragraph("WARNING: The pump casing can hold pressurised hot liquid up to 90 °C. "
                  "Close both isolation valves and drain the casing before opening it.", NOTICE),
        Paragraph("CAUTION: Wear safety glasses and chemical-resistant gloves when handling the seal "
                  "faces and the lubricant.", NOTICE),
        Paragraph("Only qualified service technicians may carry out the procedures in this manual. "
                  "Use only genuine HydroFlow spare parts; other parts void the warranty.", BODY),
        PageBreak(),
        Paragraph("2 Technical Specifications", H1),
        Paragraph("The table lists the rated values of the standard HF-22 at 50 Hz.", BODY),
        table([["Parameter", "Value"],
               ["Rated flow", "22 m3/h"], ["Maximum head", "48 m"], ["Motor power", "4.0 kW"],
               ["Supply voltage", "400 V three-phase, 50 Hz"], ["Rated speed", "2900 rpm"],
               ["Maximum liquid temperature", "90 °C"], ["Maximum inlet pressure", "6 bar"],
               ["Minimum inlet pressure (NPSH)", "0.4 bar"], ["Casing bolts", "M8x1.25, 8 pieces"],
               ["Weight (dry)", "61 kg"], ["Sound pressure level", "68 dB(A)"]]),
        Spacer(1, 4 * mm),
        Paragraph("2.1 Tightening torques", H2),
        table([["Fastener", "Size", "Torque"],
               ["Casing bolts", "M8x1.25", "25 N·m"], ["Filter housing cover", "M6", "10 N·m"],
               ["Impeller nut", "M12", "40 N·m"], ["Motor feet", "M10", "45 N·m"]]),
        PageBreak(),
        Paragraph("3 Installation", H1),
        Paragraph("Install the pump on a level concrete base at least 300 mm above the floor drain. "
                  "Keep 500 mm of free space around the unit for service access and cooling air.", BODY),
        Paragraph("3.1 Electrical connection", H2),
        Paragraph("WARNING: The electrical connection must be made by a licensed electrician.", NOTICE),
        *steps("Check that the supply matches the rating plate: 400 V three-phase, 50 Hz.",
               "Connect the motor in star or delta as shown inside the terminal box cover.",
               "Connect the protective earth conductor first.",
               "Set the motor protection relay to the rated current of 8.1 A.",
               "Check the direction of rotation: the shaft must turn clockwise seen from the motor fan."),
        PageBreak(),
        Paragraph("4 Maintenance", H1),
        Paragraph("4.1 Maintenance schedule", H2),
        table([["Interval", "Task"], ["Weekly", "Check for leaks at the mechanical seal"],
               ["Every 500 hours", "Clean or replace the inlet filter cartridge HF-22-FC"],
               ["Every 2000 hours", "Lubricate the motor bearings"],
               ["Every 8000 hours", "Replace the mechanical seal (kit SK-4471)"]]),
        Spacer(1, 4 * mm),
        Paragraph("4.2 Replacing the inlet filter cartridge", H2),
        Paragraph("The inlet filter protects the impeller from debris. A clogged filter causes error E-17. "
                  "To replace the filter cartridge:", BODY),
        Paragraph("WARNING: Depressurise the pump and close isolation valves V1 and V2 before opening "
                  "the filter housing.", NOTICE),
        *steps("Switch off the pump and lock out the supply.",
               "Close isolation valves V1 (inlet) and V2 (outlet).",
               "Open the drain plug and let the filter housing empty.",
               "Remove the four M6 screws of the filter housing cover.",
               "Pull out the old cartridge and fit a new HF-22-FC cartridge with its O-ring.",
               "Refit the cover and tighten the M6 screws to 10 N·m in a cross pattern.",
               "Open V1, then V2, and vent the housing through the bleed screw."),
        Paragraph("NOTE: Replace the cover O-ring (part OR-3515) every time the housing is opened.", NOTICE),
        PageBreak(),
        Paragraph("4.3 Replacing the mechanical seal", H2),
        Paragraph("Replace the seal when it leaks more than 10 drops per minute or every 8000 operating hours.",
                  BODY),
        Paragraph("CAUTION: The seal faces are brittle ceramic. Do not touch the sliding faces with bare "
                  "fingers and never let them run dry.", NOTICE),
        *steps("Drain the pump casing completely.",
               "Remove the eight M8x1.25 casing bolts and lift the motor and impeller assembly out.",
               "Hold the shaft and loosen the M12 impeller nut; pull off the impeller.",
               "Slide the old rotating seal off the shaft and press the stationary seat out of the cover.",
               "Clean the shaft and the seat bore with isopropyl alcohol.",
               "Press in the new stationary seat of kit SK-4471 by hand, using the plastic ring supplied.",
               "Lubricate the shaft with soapy water and push the new rotating seal on until it seats.",
               "Refit the impeller and tighten the impeller nut to 40 N·m.",
               "Refit the assembly and tighten the casing bolts to 25 N·m in a cross pattern."),
        Paragraph("NOTE: Fill the pump with liquid before starting it; a dry start destroys the new seal "
                  "within seconds.", NOTICE),
        Paragraph("4.4 Lubricating the motor bearings", H2),
        Paragraph("Grease the bearings every 2000 hours with 8 g of lithium complex grease grade NLGI 2 "
                  "through the two grease nipples on the motor end shields. Run the motor for ten minutes "
                  "with the grease outlet plugs removed so excess grease can escape.", BODY),
        PageBreak(),
        Paragraph("5 Troubleshooting and Error Codes", H1),
        Paragraph("The controller shows an error code on its display. Reset it with the RESET key once the "
                  "cause has been removed.", BODY),
        table([["Code", "Meaning", "Action"],
               ["E-10", "Supply voltage out of range", "Check the supply and the fuses"],
               ["E-12", "Motor overtemperature", "Clean the fan cover, check ambient temperature"],
               ["E-17", "Low inlet pressure", "Clean the inlet filter HF-22-FC, open valve V1 fully"],
               ["E-21", "Dry running detected", "Fill the casing, check the suction line for air"],
               ["E-33", "Seal leakage sensor tripped", "Replace the mechanical seal, kit SK-4471"],
               ["E-42", "Pressure sensor fault", "Check the sensor cable, replace sensor PS-220"]]),
        Spacer(1, 4 * mm),
        Paragraph("5.1 Pump runs but delivers no water", H2),
        *steps("Check that isolation valves V1 and V2 are fully open.",
               "Vent the pump casing through the bleed screw until liquid comes out.",
               "Check the direction of rotation.",
               "Inspect the inlet filter cartridge for clogging."),
        PageBreak(),
        Paragraph("6 Spare Parts", H1),
        table([["Part number", "Description", "Quantity"],
               ["HF-22-FC", "Inlet filter cartridge", "1"], ["OR-3515", "O-ring, filter housing cover", "1"],
               ["SK-4471", "Mechanical seal kit, 22 mm shaft", "1"], ["PS-220", "Pressure sensor 0-10 bar", "1"],
               ["IMP-22-5", "Impeller, 5 blades, bronze", "1"], ["BRG-6205", "Ball bearing 6205-2RS", "2"]]),
        Paragraph("Order spare parts from your HydroFlow service partner, quoting the serial number "
                  "from the rating plate.", BODY),
    ]
    return s


def main() -> None:
    doc = SimpleDocTemplate(str(OUT), pagesize=A4, title=TITLE, author="HydroFlow Service",
                            topMargin=20 * mm, bottomMargin=20 * mm)
    doc.build(story(), onFirstPage=on_page, onLaterPages=on_page)
    print(OUT)


if __name__ == "__main__":
    main()
